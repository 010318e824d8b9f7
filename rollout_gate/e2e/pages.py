"""Page objects for the reference app's pages: what a user sees and does, never how the page is built.

Every wait is Playwright's auto-waiting (`expect`, navigation): no sleeps.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Locator, Page, expect


class SignInPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def open(self) -> SignInPage:
        self.page.goto("/sign-in")
        return self

    def sign_in(self, email: str, password: str) -> None:
        """Submit the form; where it leads depends on where the user came from (`next`)."""
        form = self.page.get_by_test_id("sign-in-form")
        form.get_by_label("Email").fill(email)
        form.get_by_label("Password").fill(password)
        with self.page.expect_navigation():
            form.get_by_role("button", name="Sign in").click()
        expect(self.page.get_by_test_id("current-user")).to_have_text(email)

    def sign_in_to_dashboard(self, email: str, password: str) -> DashboardPage:
        self.sign_in(email, password)
        return DashboardPage(self.page).expect_loaded()


class DashboardPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def expect_loaded(self) -> DashboardPage:
        expect(self.page.get_by_test_id("org-switcher")).to_be_visible()
        return self

    @property
    def org_name(self) -> Locator:
        return self.page.get_by_test_id("org-name")

    def expect_org(self, name: str, *, role: str | None = None) -> DashboardPage:
        expect(self.org_name).to_have_text(name)
        if role is not None:
            expect(self.page.get_by_test_id("org-role")).to_have_text(role)
        return self

    def expect_personal_workspace(self) -> DashboardPage:
        expect(self.page.get_by_test_id("personal-badge")).to_be_visible()
        return self

    def current_org_id(self) -> str:
        value = self.page.get_by_test_id("org-select").input_value()
        if value:
            return value
        return parse_qs(urlsplit(self.page.url).query)["org"][0]

    def organizations(self) -> list[str]:
        return [o.strip() for o in self.page.get_by_test_id("org-select").locator("option").all_inner_texts()]

    def switch_to(self, name: str) -> DashboardPage:
        switcher = self.page.get_by_test_id("org-switcher")
        switcher.get_by_test_id("org-select").select_option(label=name)
        with self.page.expect_navigation():
            switcher.get_by_role("button", name="Switch").click()
        return self.expect_org(name)

    def counts(self) -> dict[str, int]:
        return {
            kind: int(self.page.get_by_test_id(f"count-{kind}").inner_text())
            for kind in ("projects", "entries", "clients")
        }

    def project_names(self) -> list[str]:
        return [row.locator("td").first.inner_text().strip() for row in self.page.get_by_test_id("project-row").all()]

    @property
    def new_project_form(self) -> Locator:
        return self.page.get_by_test_id("new-project-form")

    def expect_read_only(self) -> DashboardPage:
        expect(self.page.get_by_test_id("read-only")).to_be_visible()
        expect(self.new_project_form).to_have_count(0)
        return self

    def create_project(self, name: str) -> DashboardPage:
        self.new_project_form.get_by_label("New project").fill(name)
        with self.page.expect_navigation():
            self.new_project_form.get_by_role("button", name="Add project").click()
        return self

    def new_organization(self) -> NewOrganizationPage:
        with self.page.expect_navigation():
            self.page.get_by_role("link", name="New organization").click()
        return NewOrganizationPage(self.page)

    def members(self) -> MembersPage:
        with self.page.expect_navigation():
            self.page.get_by_role("link", name="Members").click()
        return MembersPage(self.page).expect_loaded()


class NewOrganizationPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def create(self, name: str) -> DashboardPage:
        form = self.page.get_by_test_id("new-org-form")
        form.get_by_label("Name").fill(name)
        with self.page.expect_navigation():
            form.get_by_role("button", name="Create organization").click()
        return DashboardPage(self.page).expect_org(name, role="owner")


class MembersPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def expect_loaded(self) -> MembersPage:
        expect(self.page.get_by_test_id("members")).to_be_visible()
        return self

    def invite(self, email: str, role: str = "member") -> MembersPage:
        form = self.page.get_by_test_id("invite-form")
        form.get_by_label("Email").fill(email)
        form.get_by_label("Role").select_option(role)
        with self.page.expect_navigation():
            form.get_by_role("button", name="Send invitation").click()
        expect(self.page.get_by_test_id("notice")).to_have_text(f"Invitation sent to {email}")
        return self

    def expect_member(self, email: str, role: str) -> MembersPage:
        row = self.page.get_by_test_id("member-row").filter(has_text=email)
        expect(row).to_have_count(1)
        expect(row.locator("td").nth(1)).to_have_text(role)
        return self

    def reload(self) -> MembersPage:
        self.page.reload()
        return self.expect_loaded()


class AcceptInvitationPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def expect_invitation(self, organization: str) -> AcceptInvitationPage:
        expect(self.page.get_by_test_id("invitation-summary")).to_contain_text(organization)
        return self

    def accept(self) -> DashboardPage:
        with self.page.expect_navigation():
            self.page.get_by_test_id("accept-form").get_by_role("button", name="Accept invitation").click()
        return DashboardPage(self.page).expect_loaded()
