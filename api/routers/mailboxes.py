"""Mailboxes: the addresses a tenant takes e-mail at (docs/email.md), and the senders it knows.

Read from the mailbox aggregates themselves, so a change is there the moment its request answers.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import ChannelDep, PrincipalDep, ServicesDep
from api.mail_schemas import (
    AddressPath,
    MailboxList,
    MailboxPublic,
    MailboxPut,
    MailSenderPublic,
    MailSenderPut,
    SetAsideList,
    SetAsidePublic,
)
from api.problems import problem_responses
from domain.mail.mailboxes import MailboxSettings

router = APIRouter(tags=["mail"])


@router.put("/mailboxes/{address}", response_model=MailboxPublic, responses=problem_responses(401, 403, 409, 422))
def put_mailbox(
    address: AddressPath, body: MailboxPut, services: ServicesDep, principal: PrincipalDep, via: ChannelDep
) -> MailboxPublic:
    """Configure the mailbox at `address` for the caller's tenant; another tenant's address is 409."""
    configured = services.desk.configure_mailbox(
        tenant=principal.tenant,
        address=address,
        group=body.group,
        admit_unknown_senders=body.admit_unknown_senders,
        language=body.language,
        by=principal.actor,
        via=via,
    )
    return _public(configured)


@router.get("/mailboxes", response_model=MailboxList, responses=problem_responses(401, 403))
def list_mailboxes(services: ServicesDep, principal: PrincipalDep) -> MailboxList:
    """The tenant's mailboxes, by address."""
    return MailboxList(items=[_public(m) for m in services.desk.mailboxes(principal.tenant)])


@router.get("/mailboxes/{address}", response_model=MailboxPublic, responses=problem_responses(401, 403, 404, 422))
def get_mailbox(address: AddressPath, services: ServicesDep, principal: PrincipalDep) -> MailboxPublic:
    """One mailbox of the tenant."""
    return _public(services.desk.mailbox(address, tenant=principal.tenant))


@router.delete(
    "/mailboxes/{address}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401, 403, 404, 422)
)
def delete_mailbox(address: AddressPath, services: ServicesDep, principal: PrincipalDep, via: ChannelDep) -> Response:
    """Stop the mailbox taking mail (`RCPT TO` it is 550 5.1.1 from now on); its history stays on record."""
    services.desk.remove_mailbox(tenant=principal.tenant, address=address, by=principal.actor, via=via)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/mailboxes/{address}/set-aside", response_model=SetAsideList, responses=problem_responses(401, 403, 404, 422)
)
def list_set_aside_mail(address: AddressPath, services: ServicesDep, principal: PrincipalDep) -> SetAsideList:
    """Automatic messages (auto-replies, bounces, list mail) an active mailbox recorded without a ticket, newest first.

    A removed mailbox is 404 here as on `GET /mailboxes/{address}`; what it set aside stays in its history.
    """
    return SetAsideList(
        items=[
            SetAsidePublic(
                received_at=s.received_at, reason=s.reason, message_key=s.message_key, sender_sha256=s.sender_sha256
            )
            for s in services.desk.set_aside_messages(principal.tenant, address)
        ]
    )


@router.put("/mail-senders/{address}", response_model=MailSenderPublic, responses=problem_responses(401, 403, 409, 422))
def put_mail_sender(
    address: AddressPath, body: MailSenderPut, services: ServicesDep, principal: PrincipalDep, via: ChannelDep
) -> MailSenderPublic:
    """Put on record that mail from `address` is the person `person_id` (409 if it is on record as another)."""
    person = services.desk.register_mail_sender(
        tenant=principal.tenant, address=address, person_id=body.person_id, by=principal.actor, via=via
    )
    return MailSenderPublic(person_id=person)


def _public(mailbox: MailboxSettings) -> MailboxPublic:
    return MailboxPublic(
        address=mailbox.address,
        group=mailbox.group,
        admit_unknown_senders=mailbox.admit_unknown_senders,
        language=mailbox.language,
    )
