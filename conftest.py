"""Root conftest: the suites' fixture plugins (the rollout plugin itself loads through its entry point)."""

pytest_plugins = [
    "fixtures.target",
    "fixtures.database",
    "fixtures.predeploy",
    "fixtures.api",
    "fixtures.mail",
    "fixtures.tenants",
    "fixtures.browser",
    "fixtures.load",
]
