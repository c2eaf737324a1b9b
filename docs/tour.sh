#!/usr/bin/env bash
# The README's five-minute tour, runnable: `make run` in one terminal, `bash docs/tour.sh` in another.
# Each step says what it does, shows the answer and stops the tour, with the body, when the HTTP status is
# not the one expected. tests/e2e/test_tour.py runs it against a real server.
#
#   LEDGERDESK_URL           the server (default http://127.0.0.1:8000)
#   LEDGERDESK_DATABASE_URL  read by the `ledgerdesk` commands below (keys, erasure, audit): it must name the
#                            server's database; unset, both use ./var/ledgerdesk.sqlite as `make run` does
set -euo pipefail

# The CLI and the default SQLite path are both relative to the checkout, as for `make run`.
cd "$(dirname "$0")/.."
B=${LEDGERDESK_URL:-http://127.0.0.1:8000}
LEDGERDESK=.venv/bin/ledgerdesk
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
BODY=$WORK/body
HEADERS=$WORK/headers
JSON='Content-Type: application/json'

# step NAME EXPECTED_STATUS curl ARGS...: run the request, print its status and body, fail loudly on any
# other status. The answer stays in $BODY and $HEADERS for the next lines to read.
step() {
    local name=$1 expected=$2 status
    shift 2
    printf '\n== %s\n' "$name"
    if ! status=$("$@" --silent --show-error --output "$BODY" --dump-header "$HEADERS" --write-out '%{http_code}'); then
        printf 'tour: %s: no answer from %s\n' "$name" "$B" >&2
        exit 1
    fi
    if [[ $status != "$expected" ]]; then
        printf 'tour: %s: expected HTTP %s, got %s:\n' "$name" "$expected" "$status" >&2
        cat "$BODY" >&2
        printf '\n' >&2
        exit 1
    fi
    printf 'HTTP %s\n' "$status"
    cat "$BODY"
    printf '\n'
}

# header NAME: a header of the last answer (names are case-insensitive; HTTP ends lines with CR).
header() {
    awk -v name="$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')" -F': ' \
        'tolower($1) == name { sub(/\r$/, "", $2); print $2 }' "$HEADERS"
}

# field PATH: a value of the last JSON answer, e.g. `field targets.0.state` (list items by index).
field() {
    python3 -c '
import json, sys
value = json.load(open(sys.argv[1]))
for part in sys.argv[2].split("."):
    value = value[int(part)] if isinstance(value, list) else value[part]
print(value)' "$BODY" "$1"
}

# expect PATH VALUE: the tour shows what it says it shows.
expect() {
    local got
    got=$(field "$1")
    if [[ $got != "$2" ]]; then
        printf 'tour: expected %s to be %s, got %s\n' "$1" "$2" "$got" >&2
        exit 1
    fi
}

# ldk ARGS...: a `ledgerdesk` command, shown before it runs.
ldk() {
    printf '\n== ledgerdesk %s\n' "$*"
    "$LEDGERDESK" "$@"
}

step 'the server answers' 200 curl "$B/healthz"

# 1. API keys (each printed once, alone on the last line): agent alice and admin boss of tenant acme.
printf '\n== API keys for alice (agent) and boss (admin)\n'
AUTH="Authorization: Bearer $("$LEDGERDESK" keys create --actor alice --role agent --tenant acme | tail -1)"
ADMIN="Authorization: Bearer $("$LEDGERDESK" keys create --actor boss --role admin --tenant acme | tail -1)"

# 2. Service levels first, so the ticket opened next runs under them (docs/sla.md): a business calendar,
#    Monday to Friday 09:00-17:00 in Berlin, and a policy answering within 60 and solving within 480 minutes
#    of it. Each PUT makes a new version; the policy's is kept for the recompute in step 10.
step 'define the business calendar "office"' 200 curl -X PUT "$B/sla/calendars/office" -H "$ADMIN" -H "$JSON" \
    -d '{"timezone": "Europe/Berlin", "intervals": [{"weekday": 0, "start": "09:00", "end": "17:00"},
         {"weekday": 1, "start": "09:00", "end": "17:00"}, {"weekday": 2, "start": "09:00", "end": "17:00"},
         {"weekday": 3, "start": "09:00", "end": "17:00"}, {"weekday": 4, "start": "09:00", "end": "17:00"}]}'
step 'define the SLA policy "standard" on it' 200 curl -X PUT "$B/sla/policies/standard" -H "$ADMIN" -H "$JSON" \
    -d '{"position": 1, "calendar": "office", "targets": {"first_response": 60, "resolution": 480}}'
POLICY_VERSION=$(field version)

# 3. A ticket for requester bob, who phoned in: 201, its address in Location, its version in ETag.
step 'open a ticket for bob, who phoned in' 201 curl "$B/tickets" -H "$AUTH" -H "$JSON" -d '{
    "title": "Laptop will not boot", "requester_id": "bob", "requester_name": "Bob Example",
    "channel": "phone", "priority": "high", "type": "incident", "tags": ["hardware"]}'
T=$B$(header location)
expect version 1
# Reads of the read models wait for this position (?min_position=): they include the write, at once.
POS=$(header ledgerdesk-position)

step 'the unassigned queue holds it (most urgent first)' 200 curl "$B/queues/unassigned?min_position=$POS" -H "$AUTH"
step 'its SLA targets run under "standard": first response and resolution' 200 curl "$T/sla" -H "$AUTH"
expect targets.0.policy standard

# 4. Assign it to carol in group it, only if nobody changed it since version 1; the same stale If-Match
#    again is refused with 412 and stores nothing.
step 'assign it to carol in group it, if still at version 1' 200 curl "$T/assignment" -H "$AUTH" \
    -H 'If-Match: "1"' -H "$JSON" -d '{"assignee": "carol", "group": "it"}'
ASSIGNED_AT=$(field updated_at)
step 'the same If-Match again: the ticket moved on' 412 curl "$T/assignment" -H "$AUTH" \
    -H 'If-Match: "1"' -H "$JSON" -d '{"assignee": "dave"}'

# 5. An internal note mentioning dave, then a public reply through the web UI channel.
step 'an internal note mentioning @dave' 201 curl "$T/comments" -H "$AUTH" -H "$JSON" \
    -d '{"body": "@dave is this the BIOS update again?", "public": false}'
step 'a public reply, via the web channel' 201 curl "$T/comments" -H "$AUTH" -H 'Ledgerdesk-Channel: web' \
    -H "$JSON" -d '{"body": "We are on it."}'

# 6. The workflow: new -> open; open -> closed is not a move the workflow has (409).
step 'move it to open' 200 curl "$T/transitions" -H "$AUTH" -H "$JSON" -d '{"to": "open"}'
POS=$(header ledgerdesk-position)
step 'open -> closed is illegal' 409 curl "$T/transitions" -H "$AUTH" -H "$JSON" -d '{"to": "closed"}'

# 7. Queues and search while it is open, from the read models.
step "group it's queue" 200 curl "$B/queues/groups/it?min_position=$POS" -H "$AUTH"
step "carol's queue" 200 curl "$B/queues/assignees/carol?min_position=$POS" -H "$AUTH"
step 'open hardware tickets' 200 curl "$B/tickets?tag=hardware&status=open&min_position=$POS" -H "$AUTH"
step "carol's workload" 200 curl "$B/agents/carol/workload?min_position=$POS" -H "$AUTH"
step 'tickets by SLA due, earliest first (sla=at_risk or sla=breached narrow it)' 200 \
    curl "$B/tickets?sort=sla_due&min_position=$POS" -H "$AUTH"

# 8. Solve it; the first response was met by the public reply, and now the resolution too.
step 'solve it' 200 curl "$T/transitions" -H "$AUTH" -H "$JSON" -d '{"to": "solved"}'
expect status solved
step 'its SLA targets now' 200 curl "$T/sla" -H "$AUTH"
expect targets.0.state met

# 9. The history, and the ticket as it was: at version 2, and at the moment it was assigned, written with a
#    +01:00 offset. A `+` in a query string reads as a space: send it as %2B (--data-urlencode does).
step 'the history: who, when, via which channel, what changed old -> new' 200 curl "$T/history" -H "$AUTH"
step 'the ticket at version 2' 200 curl "$T?version=2" -H "$AUTH"
expect status new
AS_OF=$(python3 -c '
import sys
from datetime import datetime, timedelta, timezone
moment = datetime.fromisoformat(sys.argv[1].replace("Z", "+00:00"))
print(moment.astimezone(timezone(timedelta(hours=1))).isoformat())' "$ASSIGNED_AT")
step "the ticket as of $AS_OF, when it was assigned" 200 curl -G "$T" --data-urlencode "as_of=$AS_OF" -H "$AUTH"
expect version 2

# 10. The SLA recomputed from the history under a chosen policy version.
step "its SLA recomputed under standard version $POLICY_VERSION" 200 \
    curl "$T/sla?policy=standard&policy_version=$POLICY_VERSION" -H "$AUTH"
expect recomputed True

# 11. The event feed: pass next_cursor back as ?after= to continue exactly there.
step 'the event feed, five at a time' 200 curl "$B/events?limit=5" -H "$AUTH"
step 'the next five' 200 curl -G "$B/events" --data-urlencode "after=$(field next_cursor)" -d limit=5 -H "$AUTH"

# 12. A group that routes by itself: agents, then group desk with round-robin routing. A ticket opened into
#     it is assigned by the router (running inside `serve`), not by the request: the history says which rule
#     chose whom, and why.
step 'agent carol' 200 curl -X PUT "$B/agents/carol" -H "$ADMIN" -H "$JSON" -d '{"capacity": 10, "available": true}'
step 'agent dave' 200 curl -X PUT "$B/agents/dave" -H "$ADMIN" -H "$JSON" -d '{"capacity": 10, "available": true}'
step 'group desk, routed round robin' 200 curl -X PUT "$B/groups/desk" -H "$ADMIN" -H "$JSON" \
    -d '{"members": ["carol", "dave"], "routing": "round_robin"}'
step 'a ticket opened into group desk' 201 curl "$B/tickets" -H "$AUTH" -H "$JSON" \
    -d '{"title": "Printer on floor 2 is offline", "requester_id": "bob", "group": "desk"}'
R=$B$(header location)
for _ in $(seq 50); do
    [[ $(curl -s "$R" -H "$AUTH" | python3 -c 'import json, sys; print(json.load(sys.stdin)["assignee"])') != None ]] && break
    sleep 0.1
done
step 'the router gave it to carol, first in the group' 200 curl "$R" -H "$AUTH"
expect assignee carol
step 'its history names the rule and the reason' 200 curl "$R/history" -H "$AUTH"
expect items.2.actor.id routing:round_robin
expect items.2.reason 'round_robin: first in the group'

# 13. Bob asks to be forgotten: his data key is destroyed, so his name and the texts he gave read [erased]
#     everywhere; the audit hash chain still verifies.
ldk privacy erase bob --tenant acme --by dpo
step 'the ticket after the erasure' 200 curl "$T" -H "$AUTH"
expect title '[erased]'
expect requester_name '[erased]'
ldk audit verify

printf '\ntour: every step answered as expected\n'
