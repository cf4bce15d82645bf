"""Team workspaces over real HTTP: invitations, roles, the last owner, and acting in one workspace."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import httpx
import pytest

from tests.support.mail import logged_token

PASSWORD = "correct horse battery staple"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Person:
    email: str
    user_id: str
    token: str  # acting in their personal workspace

    @property
    def headers(self) -> dict[str, str]:
        return _bearer(self.token)


def _person(api: httpx.Client) -> Person:
    email = f"p-{uuid.uuid4().hex[:10]}@example.com"
    body = api.post("/v1/auth/signup", json={"email": email, "password": PASSWORD}).json()
    return Person(email, body["user"]["id"], body["access_token"])


def _act_in(api: httpx.Client, person: Person, workspace_id: str) -> dict[str, str]:
    response = api.post("/v1/auth/token", json={"workspace_id": workspace_id}, headers=person.headers)
    assert response.status_code == 200, response.text
    return _bearer(response.json()["access_token"])


@dataclass
class Team:
    id: str
    owner: Person
    owner_headers: dict[str, str]


@pytest.fixture
def team(api: httpx.Client) -> Team:
    owner = _person(api)
    response = api.post("/v1/workspaces", json={"name": "Studio"}, headers=owner.headers)
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["role"], body["plan"]) == ("team", "owner", "free")
    return Team(body["id"], owner, _act_in(api, owner, body["id"]))


def _join(api: httpx.Client, caplog: pytest.LogCaptureFixture, team: Team, role: str = "member") -> Person:
    person = _person(api)
    invited = api.post(
        f"/v1/workspaces/{team.id}/invitations", json={"email": person.email, "role": role}, headers=team.owner_headers
    )
    assert invited.status_code == 201, invited.text
    accepted = api.post(
        "/v1/invitations/accept", json={"token": logged_token(caplog, person.email)}, headers=person.headers
    )
    assert accepted.status_code == 200, accepted.text
    return person


@pytest.fixture(autouse=True)
def _capture_mail(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


def test_an_invitation_is_mailed_never_returned_and_joins_once(
    api: httpx.Client, team: Team, caplog: pytest.LogCaptureFixture
) -> None:
    guest = _person(api)
    invited = api.post(
        f"/v1/workspaces/{team.id}/invitations",
        json={"email": guest.email, "role": "admin"},
        headers=team.owner_headers,
    )
    assert invited.status_code == 201
    token = logged_token(caplog, guest.email)
    assert token not in invited.text
    assert invited.json()["delivery"] == "log"
    accepted = api.post("/v1/invitations/accept", json={"token": token}, headers=guest.headers)
    assert accepted.status_code == 200
    assert (accepted.json()["id"], accepted.json()["role"]) == (team.id, "admin")
    again = api.post("/v1/invitations/accept", json={"token": token}, headers=guest.headers)
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "INVITATION_INVALID"
    listed = api.get("/v1/workspaces", headers=guest.headers).json()["data"]
    assert {(w["id"], w["role"]) for w in listed} >= {(team.id, "admin")}
    members = api.get(f"/v1/workspaces/{team.id}/members", headers=team.owner_headers).json()["data"]
    assert {(m["email"], m["role"]) for m in members} == {(team.owner.email, "owner"), (guest.email, "admin")}


def test_an_invitation_works_only_for_the_invited_email(
    api: httpx.Client, team: Team, caplog: pytest.LogCaptureFixture
) -> None:
    guest, stranger = _person(api), _person(api)
    api.post(f"/v1/workspaces/{team.id}/invitations", json={"email": guest.email}, headers=team.owner_headers)
    token = logged_token(caplog, guest.email)
    refused = api.post("/v1/invitations/accept", json={"token": token}, headers=stranger.headers)
    assert refused.status_code == 403
    assert api.post("/v1/invitations/accept", json={"token": token}, headers=guest.headers).status_code == 200


def test_unknown_invitation_tokens_are_400(api: httpx.Client, team: Team) -> None:
    response = api.post("/v1/invitations/accept", json={"token": "nope"}, headers=team.owner.headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVITATION_INVALID"


def test_members_cannot_invite_or_change_roles(api: httpx.Client, team: Team, caplog: pytest.LogCaptureFixture) -> None:
    member = _join(api, caplog, team)
    as_member = _act_in(api, member, team.id)
    invite = api.post(f"/v1/workspaces/{team.id}/invitations", json={"email": "x@example.com"}, headers=as_member)
    assert invite.status_code == 403
    assert invite.json()["error"]["code"] == "INSUFFICIENT_ROLE"
    promote = api.patch(f"/v1/workspaces/{team.id}/members/{member.user_id}", json={"role": "admin"}, headers=as_member)
    assert promote.status_code == 403


def test_admins_manage_members_but_only_owners_touch_owners(
    api: httpx.Client, team: Team, caplog: pytest.LogCaptureFixture
) -> None:
    admin = _join(api, caplog, team, role="admin")
    member = _join(api, caplog, team)
    as_admin = _act_in(api, admin, team.id)
    members_url = f"/v1/workspaces/{team.id}/members"
    promoted = api.patch(f"{members_url}/{member.user_id}", json={"role": "admin"}, headers=as_admin)
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "admin"
    to_owner = api.patch(f"{members_url}/{member.user_id}", json={"role": "owner"}, headers=as_admin)
    assert to_owner.status_code == 403
    remove_owner = api.delete(f"{members_url}/{team.owner.user_id}", headers=as_admin)
    assert remove_owner.status_code == 403
    assert api.delete(f"{members_url}/{member.user_id}", headers=as_admin).status_code == 204
    remaining = {m["user_id"] for m in api.get(members_url, headers=as_admin).json()["data"]}
    assert remaining == {team.owner.user_id, admin.user_id}


def test_the_last_owner_can_be_neither_removed_nor_demoted(
    api: httpx.Client, team: Team, caplog: pytest.LogCaptureFixture
) -> None:
    members_url = f"/v1/workspaces/{team.id}/members"
    for response in (
        api.delete(f"{members_url}/{team.owner.user_id}", headers=team.owner_headers),
        api.patch(f"{members_url}/{team.owner.user_id}", json={"role": "admin"}, headers=team.owner_headers),
    ):
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "CONFLICT"
    second = _join(api, caplog, team, role="owner")
    assert api.delete(f"{members_url}/{team.owner.user_id}", headers=team.owner_headers).status_code == 204
    roles = {
        m["user_id"]: m["role"] for m in api.get(members_url, headers=_act_in(api, second, team.id)).json()["data"]
    }
    assert roles == {second.user_id: "owner"}


def test_a_removed_member_loses_access_at_once(api: httpx.Client, team: Team, caplog: pytest.LogCaptureFixture) -> None:
    member = _join(api, caplog, team)
    as_member = _act_in(api, member, team.id)
    assert api.get("/v1/auth/me", headers=as_member).status_code == 200  # now cached
    removed = api.delete(f"/v1/workspaces/{team.id}/members/{member.user_id}", headers=team.owner_headers)
    assert removed.status_code == 204
    assert api.get("/v1/auth/me", headers=as_member).status_code == 401


def test_a_member_may_leave(api: httpx.Client, team: Team, caplog: pytest.LogCaptureFixture) -> None:
    member = _join(api, caplog, team)
    left = api.delete(f"/v1/workspaces/{team.id}/members/{member.user_id}", headers=_act_in(api, member, team.id))
    assert left.status_code == 204
    assert team.id not in {w["id"] for w in api.get("/v1/workspaces", headers=member.headers).json()["data"]}


def test_personal_workspaces_take_no_invitations(api: httpx.Client) -> None:
    person = _person(api)
    me = api.get("/v1/auth/me", headers=person.headers).json()
    response = api.post(
        f"/v1/workspaces/{me['workspace']['id']}/invitations", json={"email": "x@example.com"}, headers=person.headers
    )
    assert response.status_code == 409


def test_routes_of_another_workspace_are_404(api: httpx.Client, team: Team) -> None:
    outsider = _person(api)
    response = api.get(f"/v1/workspaces/{team.id}/members", headers=outsider.headers)
    assert response.status_code == 404
    # The owner's personal-workspace token does not act in the team either.
    assert api.get(f"/v1/workspaces/{team.id}/members", headers=team.owner.headers).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [({"email": "x@example.com", "role": "root"}, "role"), ({"role": "member"}, "email"), ({"email": "nope"}, "email")],
    ids=["bad-role", "missing-email", "malformed-email"],
)
def test_bad_invitations_are_422_naming_the_field(
    api: httpx.Client, team: Team, body: dict[str, str], field: str
) -> None:
    response = api.post(f"/v1/workspaces/{team.id}/invitations", json=body, headers=team.owner_headers)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_a_blank_workspace_name_is_422(api: httpx.Client) -> None:
    response = api.post("/v1/workspaces", json={"name": ""}, headers=_person(api).headers)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "name"


def test_pending_invitations_are_listed_and_a_revoked_one_cannot_be_accepted(
    api: httpx.Client, team: Team, caplog: pytest.LogCaptureFixture
) -> None:
    guest, joiner = _person(api), _person(api)
    base = f"/v1/workspaces/{team.id}/invitations"
    first = api.post(base, json={"email": guest.email, "role": "admin"}, headers=team.owner_headers).json()
    token = logged_token(caplog, guest.email)
    api.post(base, json={"email": joiner.email}, headers=team.owner_headers)
    joiner_token = logged_token(caplog, joiner.email)
    pending = api.get(base, headers=team.owner_headers)
    assert pending.status_code == 200
    assert [(i["email"], i["role"]) for i in pending.json()["data"]] == [
        (joiner.email, "member"),
        (guest.email, "admin"),
    ]
    assert token not in pending.text

    assert api.delete(f"{base}/{first['id']}", headers=team.owner_headers).status_code == 204
    refused = api.post("/v1/invitations/accept", json={"token": token}, headers=guest.headers)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "INVITATION_INVALID"
    again = api.delete(f"{base}/{first['id']}", headers=team.owner_headers)
    assert again.status_code == 404

    assert api.post("/v1/invitations/accept", json={"token": joiner_token}, headers=joiner.headers).status_code == 200
    assert api.get(base, headers=team.owner_headers).json()["data"] == []  # accepted: no longer pending


def test_members_neither_list_nor_revoke_invitations(
    api: httpx.Client, team: Team, caplog: pytest.LogCaptureFixture
) -> None:
    member = _join(api, caplog, team)
    as_member = _act_in(api, member, team.id)
    base = f"/v1/workspaces/{team.id}/invitations"
    invited = api.post(base, json={"email": "later@example.com"}, headers=team.owner_headers).json()
    listed = api.get(base, headers=as_member)
    assert listed.status_code == 403
    assert listed.json()["error"]["code"] == "INSUFFICIENT_ROLE"
    assert api.delete(f"{base}/{invited['id']}", headers=as_member).status_code == 403
    assert [i["id"] for i in api.get(base, headers=team.owner_headers).json()["data"]] == [invited["id"]]
