"""Core pages load: sign in through the form and open each page a user starts from (no browser needed)."""

from __future__ import annotations

import re

import httpx

from rollout_gate.api.client import describe

# (path, text the page must contain)
_MEMBERS_LINK = re.compile(r'href="(/orgs/[0-9a-f-]{36}/members)"')
CORE_PAGES = (("/dashboard", 'data-testid="org-switcher"'), ("/orgs/new", 'data-testid="new-org-form"'))


def core_page_problems(base_url: str, email: str, password: str, *, timeout: float = 10) -> list[str]:
    problems = []
    with httpx.Client(base_url=base_url, timeout=timeout, follow_redirects=True) as browser:
        page = browser.get("/sign-in")
        if page.status_code != 200 or "<form" not in page.text:
            return [f"the sign-in page does not load: {describe(page)}"]
        signed_in = browser.post("/sign-in", data={"email": email, "password": password, "next": "/dashboard"})
        if signed_in.status_code != 200 or signed_in.url.path != "/dashboard":
            return [f"signing in through the form did not reach the dashboard: {describe(signed_in)}"]
        for path, marker in CORE_PAGES:
            response = browser.get(path)
            if response.status_code != 200 or marker not in response.text:
                problems.append(f"{path} does not load: {describe(response)}")
        members = _MEMBERS_LINK.search(signed_in.text)
        if members:
            response = browser.get(members.group(1))
            if response.status_code != 200 or 'data-testid="members"' not in response.text:
                problems.append(f"the members page does not load: {describe(response)}")
        else:
            problems.append("the dashboard links to no members page")
    return problems
