"""SSRF safety: which addresses webhooks may reach, on any address hypothesis finds, and the URLs refused at once."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidValueError
from infrastructure.webhooks.addresses import AddressPolicy, RefusedAddressError, networks, refusal

ipv4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
ipv6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)
addresses = ipv4 | ipv6


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address.is_private or address.is_loopback or address.is_link_local or address.is_multicast


@given(addresses)
def test_every_private_loopback_link_local_or_multicast_address_is_refused(address: ipaddress._BaseAddress) -> None:
    if _internal(address):  # type: ignore[arg-type]
        assert AddressPolicy().refusal(address) is not None  # type: ignore[arg-type]


@given(addresses)
def test_only_global_unicast_addresses_pass_without_an_allowlist(address: ipaddress._BaseAddress) -> None:
    passed = AddressPolicy().refusal(address) is None  # type: ignore[arg-type]
    if passed:
        assert address.is_global
        assert not address.is_multicast


@given(addresses)
def test_an_allowlisted_network_lets_its_addresses_through(address: ipaddress._BaseAddress) -> None:
    prefix = 24 if address.version == 4 else 64
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    assert AddressPolicy([network]).refusal(address) is None  # type: ignore[arg-type]


@given(ipv4)
def test_an_ipv4_address_hidden_in_ipv6_is_judged_as_itself(address: ipaddress.IPv4Address) -> None:
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(address))
    assert (refusal(mapped) is None) == (refusal(address) is None)
    assert (refusal(nat64) is None) == (refusal(address) is None)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.100.100.200",
        "0.0.0.0",
        "::1",
        "fd00:ec2::254",
        "fe80::1",
        "224.0.0.1",
        "::ffff:127.0.0.1",
        "240.0.0.1",
    ],
)
def test_internal_and_metadata_addresses_are_refused(address: str) -> None:
    assert AddressPolicy().refusal(ipaddress.ip_address(address)) is not None


def test_the_allowlist_is_read_from_comma_separated_cidrs() -> None:
    policy = AddressPolicy(networks("127.0.0.0/8, ::1/128"))
    assert policy.refusal(ipaddress.ip_address("127.0.0.2")) is None
    assert policy.refusal(ipaddress.ip_address("::1")) is None
    assert policy.refusal(ipaddress.ip_address("10.0.0.1")) == "private"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://[::1]:8080/hook",
        "http://localhost/hook",
        "http://api.localhost/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://2130706433/hook",  # 127.0.0.1 written as one number
        "http://0x7f.1/hook",
        "http://10.0.0.8/hook",
    ],
)
def test_a_url_naming_an_internal_host_outright_is_refused_at_registration(url: str) -> None:
    with pytest.raises(InvalidValueError, match="webhooks may not call"):
        AddressPolicy().check_url(url)


def test_an_allowlisted_loopback_url_is_accepted_and_a_public_name_is_left_to_delivery_time() -> None:
    AddressPolicy(networks("127.0.0.0/8")).check_url("http://127.0.0.1:9000/hook")
    AddressPolicy().check_url("https://hooks.example.com/in")  # not resolved here: at each delivery


def test_a_name_resolving_to_loopback_is_refused_at_delivery_unless_allowlisted() -> None:
    with pytest.raises(RefusedAddressError, match="loopback"):
        AddressPolicy().resolve("localhost", 80)
    assert AddressPolicy(networks("127.0.0.0/8,::1/128")).resolve("localhost", 80) in {"127.0.0.1", "::1"}
