"""Typed model of an environment file (`environments/NAME.yaml`).

Every model forbids unknown keys, so a typo in a YAML file is a usage error
that names the key instead of a silently ignored setting.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, RootModel, SecretStr, field_validator, model_validator

from rollout_gate.api.config import ApiConfig
from rollout_gate.criteria.models import CriteriaSection
from rollout_gate.e2e.config import E2eConfig
from rollout_gate.integrity.config import IntegrityBudget, IntegritySampling
from rollout_gate.invariants_http.config import InvariantsConfig
from rollout_gate.load.config import LoadConfig
from rollout_gate.mail import MailConfig
from rollout_gate.phases import Phase
from rollout_gate.predeploy.config import PredeployConfig
from rollout_gate.provisioning.config import ProvisioningConfig
from rollout_gate.smoke.config import SmokeConfig
from rollout_gate.watch.config import WatchConfig


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BearerToken(Strict):
    """One pre-issued token of a test user (`target.auth.tokens`, kind bearer_tokens)."""

    email: str
    # A reference to a variable (`${CLERK_TOKEN_USER1}`), never a literal.
    token: SecretStr


# Sign-in fields only one kind reads: set under another kind they are a mistake, and named as one.
AUTH_KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "password_json": ("email_field", "password_field"),
    "supabase": ("apikey", "auth_url"),
    "bearer_tokens": ("tokens_csv", "tokens", "verify_path"),
    "oidc": ("token_url", "grant", "client_id", "client_secret", "client_auth", "scope", "audience"),
}
# Older spellings of a kind, still accepted so existing environment files keep working.
AUTH_KIND_ALIASES = {"password": "password_json", "token": "bearer_tokens"}


class AuthConfig(Strict):
    """How test users authenticate against the target's API (`target.auth`): see rollout_gate/auth/."""

    # password_json: a JSON email/password call; supabase: Supabase Auth's password grant; bearer_tokens:
    # tokens issued beforehand per user (Clerk, Auth0); oidc: an OAuth2 token endpoint; none: no sign-in.
    kind: Literal["password_json", "supabase", "bearer_tokens", "oidc", "none"] = "password_json"
    sign_in_path: str = "/auth/sign-in"
    # Shared password of provisioned test users; a reference to a variable, never a literal.
    test_password: SecretStr | None = None
    # A CSV of pre-provisioned users (email,password) for targets where the harness may not write.
    users_csv: str | None = None
    # Where the response holds the access token and the user id (dotted paths: `data.session.jwt`).
    token_field: str = "access_token"
    user_id_field: str = "user.id"
    # password_json: the request body's field names.
    email_field: str = "email"
    password_field: str = "password"
    # supabase: the project's anon key (sent as `apikey` on every request) and where Supabase Auth lives
    # (`https://PROJECT.supabase.co`; default target.base_url).
    apikey: SecretStr | None = None
    auth_url: str | None = None
    # bearer_tokens: `email,token` rows and/or tokens from variables; verify_path, if set, is a GET
    # (e.g. `/auth/me`) that must answer 200 with the token, so a stale token fails at sign-in, naming the user.
    tokens_csv: str | None = None
    tokens: tuple[BearerToken, ...] = ()
    verify_path: str | None = None
    # oidc: the token endpoint (absolute URL), the grant (password: each user's email and password;
    # client_credentials: the client itself), the client's credentials and how they are sent (RFC 6749 2.3.1:
    # `basic` = HTTP Basic, `post` = in the form body), and the scope/audience to ask for.
    token_url: str | None = None
    grant: Literal["password", "client_credentials"] = "password"
    client_id: str | None = None
    client_secret: SecretStr | None = None
    client_auth: Literal["basic", "post"] = "basic"
    scope: str | None = None
    audience: str | None = None

    @field_validator("kind", mode="before")
    @classmethod
    def _alias(cls, value: Any) -> Any:
        return AUTH_KIND_ALIASES.get(value, value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _kind_fields(self) -> AuthConfig:
        for kind, names in AUTH_KIND_FIELDS.items():
            stray = sorted(set(names) & self.model_fields_set) if kind != self.kind else []
            if stray:
                raise ValueError(f"{', '.join(stray)}: only read by kind {kind}, not {self.kind}")
        if self.kind == "supabase" and self.apikey is None:
            raise ValueError("apikey: kind supabase needs the project's anon key (apikey: ${SUPABASE_ANON_KEY})")
        if self.kind == "bearer_tokens" and not (self.tokens_csv or self.tokens):
            raise ValueError("kind bearer_tokens needs tokens_csv (email,token rows) or tokens (email + ${VAR})")
        if self.kind == "oidc":
            if not (self.token_url or "").startswith(("http://", "https://")):
                raise ValueError("token_url: kind oidc needs the token endpoint's absolute URL")
            if not self.client_id:
                raise ValueError("client_id: kind oidc needs the OAuth2 client id (client_id: ${OIDC_CLIENT_ID})")
            if self.grant == "client_credentials" and self.client_secret is None:
                raise ValueError("client_secret: the client_credentials grant needs it (${OIDC_CLIENT_SECRET})")
        if self.auth_url is not None and not self.auth_url.startswith(("http://", "https://")):
            raise ValueError("auth_url: an absolute URL (https://PROJECT.supabase.co)")
        return self


class DatabaseTimeouts(Strict):
    """Bounds of every database session the harness opens (`target.timeouts`): nothing waits forever.

    Sent to the server as session settings, so a lock held by another session or a runaway query
    fails that one check naming the timeout; `answer_grace_s` bounds, on the client, how long past
    its statement timeout a statement may go unanswered (a frozen server cannot cancel anything).
    """

    # lock_timeout: waiting for a lock another session holds.
    lock_s: float = Field(default=5.0, gt=0, le=3600)
    # statement_timeout of ordinary checks (catalog reads, invariants, probes).
    statement_s: float = Field(default=60.0, gt=0, le=86400)
    # statement_timeout of whole-table integrity scans (baseline and post-migration fingerprints),
    # which read every row of the largest table: larger, but never unbounded.
    scan_statement_s: float = Field(default=1800.0, gt=0, le=86400)
    # idle_in_transaction_session_timeout: a harness transaction left open (killed test) frees its locks.
    idle_in_transaction_s: float = Field(default=60.0, gt=0, le=86400)
    # TCP keepalives (and tcp_user_timeout): a server host that vanished is noticed within about
    # idle + interval * count seconds instead of the kernel's two hours.
    keepalive_idle_s: int = Field(default=10, ge=1, le=3600)
    keepalive_interval_s: int = Field(default=5, ge=1, le=600)
    keepalive_count: int = Field(default=3, ge=1, le=30)
    answer_grace_s: float = Field(default=10.0, gt=0, le=600)


class TargetConfig(Strict):
    """Where the system under test lives. `auto` means the local driver fills it in."""

    base_url: str | None = None
    database_url: SecretStr | None = None
    # A second DSN for catalog reads and probes that must bypass the app role (e.g. Supabase's postgres).
    admin_database_url: SecretStr | None = None
    # Seconds to establish a database (or HTTP) connection; after the first failure the run stops
    # trying (the rest of the phase's database tests fail at once, naming that failure).
    connect_timeout: float = Field(default=10.0, gt=0, le=300)
    timeouts: DatabaseTimeouts = DatabaseTimeouts()
    auth: AuthConfig = AuthConfig()
    # The role the application connects as (e.g. Supabase's `authenticator`): criterion `app_role_rls`
    # fails if it is superuser or BYPASSRLS, or owns a tenant table whose RLS is not forced.
    app_role: str | None = None
    # `none`: the target has no database the harness may reach (a Convex or other HTTP-only backend): every
    # database check is not applicable, as this file says so; smoke, API, E2E, load and watch run over HTTP.
    database: Literal["postgres", "none"] = "postgres"
    # `reference`: the target is rollout-gate's reference app, so its built-in smoke, API and E2E tests apply.
    # Unset (any other app): those tests are not applicable; a team declares its own (smoke.endpoints...).
    app: Literal["reference"] | None = None

    @model_validator(mode="after")
    def _no_database_urls(self) -> TargetConfig:
        if self.database == "none":
            given = [k for k in ("database_url", "admin_database_url") if self.given(getattr(self, k))]
            if given:
                raise ValueError(f"database: none, but {' and '.join(given)} is set: remove one or the other")
        return self

    @staticmethod
    def given(secret: SecretStr | None) -> bool:
        """A DSN is set (an empty `${VAR:-}` is not)."""
        return secret is not None and bool(secret.get_secret_value())


class ImpersonationConfig(Strict):
    """How a member is impersonated in SQL, the way the target's API layer does it."""

    # supabase: SET LOCAL ROLE <role> + request.jwt.claims = {"sub": user, "role": role}
    # setting: SET LOCAL ROLE <role> + set_config(<setting>, <user or tenant id>)
    mode: Literal["supabase", "setting"] = "supabase"
    role: str = "authenticated"
    anon_role: str | None = "anon"
    claims_setting: str = "request.jwt.claims"
    setting: str | None = None
    setting_value: Literal["user", "tenant"] = "user"
    # Merged into the JWT claims (supabase mode), e.g. {app_metadata: {org_id: "{tenant_id}"}}; the strings
    # "{user_id}", "{tenant_id}" and "{email}" stand for the impersonated member's. `sub` and `role` are the harness's.
    extra_claims: dict[str, Any] = Field(default_factory=dict)
    # PostgREST's db-pre-request: "schema.function", called with no argument after the claims are set.
    pre_request: str | None = None
    # Also set each top-level claim as `request.jwt.claim.<name>`, as PostgREST before v10 did (supabase mode).
    claim_settings: bool = True

    @field_validator("extra_claims")
    @classmethod
    def _no_identity_claims(cls, value: dict[str, Any]) -> dict[str, Any]:
        taken = sorted({"sub", "role"} & set(value))
        if taken:
            raise ValueError(f"{', '.join(taken)} cannot be set here: the harness sets it for each member")
        return value

    def __hash__(self) -> int:
        # Frozen models hash their fields; extra_claims is a mapping, so hash its canonical JSON instead.
        return hash(json.dumps(self.model_dump(), sort_keys=True, default=str))


class MembershipConfig(Strict):
    """The membership table. A key left out (None) is discovered from the catalog (rollout_gate/catalog/discover.py);
    `status_column: null` written out means the table has none."""

    table: str | None = None
    user_column: str | None = None
    tenant_column: str | None = None
    role_column: str | None = None
    status_column: str | None = None
    active_value: str | None = None
    owner_role: str | None = None


Capability = Literal["read", "write", "manage_memberships", "manage_invitations"]
CAPABILITIES: tuple[Capability, ...] = ("read", "write", "manage_memberships", "manage_invitations")


class RolesConfig(RootModel[dict[str, tuple[Capability, ...]]]):
    """What each membership role may do (`tenancy.roles`): read/write tenant data, manage memberships/invitations."""

    model_config = ConfigDict(frozen=True)
    root: dict[str, tuple[Capability, ...]] = Field(
        default_factory=lambda: {
            "owner": CAPABILITIES,
            "admin": CAPABILITIES,
            "member": ("read", "write"),
            "viewer": ("read",),
        }
    )

    @field_validator("root")
    @classmethod
    def _declared(cls, value: dict[str, tuple[Capability, ...]]) -> dict[str, tuple[Capability, ...]]:
        if not value:
            raise ValueError("declare at least one role")
        for role, capabilities in value.items():
            if len(set(capabilities)) != len(capabilities):
                raise ValueError(f"role {role} lists a capability twice")
        return value

    @property
    def names(self) -> list[str]:
        return list(self.root)

    def may(self, role: str, capability: Capability) -> bool:
        return capability in self.root.get(role, ())

    def with_capability(self, capability: Capability) -> list[str]:
        return [r for r, caps in self.root.items() if capability in caps]

    @property
    def read_only(self) -> list[str]:
        """Roles that read tenant data but do not write it (the former `membership.read_only_roles`)."""
        return [r for r, caps in self.root.items() if "read" in caps and "write" not in caps]


class InvitationsConfig(Strict):
    """The declared way into a tenant besides a manager adding you (`tenancy.invitations`, or `none`)."""

    table: str = "public.invitations"
    # Called by the invitee; a direct INSERT of one's own membership is never the invitation path.
    accept_function: str | None = "public.accept_invitation"


class PersonalWorkspaceConfig(Strict):
    # The target's "ensure personal workspace" function, called as fn(user_id). Left out: discovered
    # (a SECURITY DEFINER function taking a user id that inserts into the tenant table); null: none.
    function: str | None = None
    # Column of the tenant table that marks a personal workspace with its owner. Left out: discovered
    # (a unique column referencing the user table); null: none.
    owner_column: str | None = None
    # Who calls it in the idempotency checks: the user themself (impersonated, as on first sign-in) or the admin DSN.
    call_as: Literal["user", "admin"] = "user"
    # SQL boolean expression over the tenant row marking a personal workspace (e.g. `is_personal`), for a
    # model whose owner_column (a primary owner) every tenant has; unset: a non-NULL owner_column marks it.
    predicate: str | None = None


class IntegrityChecksConfig(Strict):
    """Settings of the data-integrity suite."""

    # Runbook cross-check "organizations created = users": one personal workspace per user.
    workspace_per_user: bool = True
    # How many primary keys of lost/added/changed rows a failure names per table.
    report_keys: int = Field(default=5, ge=1, le=1000)
    # Connections that race the personal-workspace function in the concurrency check.
    concurrent_calls: int = Field(default=4, ge=2, le=32)


class ProbesConfig(Strict):
    """Behavioural tenant-isolation probes."""

    # Tenants whose members are impersonated (sampled from the membership table, deterministically).
    sample_tenants: int = Field(default=4, ge=2, le=1000)
    seed: int = 0
    # User-referencing columns that may point at another user: "schema.table.column", optionally
    # ":insert" or ":update" to allow only that operation (e.g. an owner adding a member).
    ownership_allow: tuple[str, ...] = ()
    # SECURITY DEFINER functions reviewed as safe for API roles: "schema.function".
    definer_allow: tuple[str, ...] = ()


class MigrationConfig(Strict):
    """How the tenancy migration reaches users (`tenancy.migration`).

    eager: every user and row is migrated at once. lazy: a user's workspace is made (and their rows
    moved into it) at their first sign-in after the deploy; users who have not signed in since keep
    their rows as they were, with no tenant yet.
    """

    mode: Literal["eager", "lazy"] = "eager"
    # lazy: column of the user table holding the user's latest sign-in time (e.g. last_sign_in_at).
    signed_in_column: str | None = None
    # lazy: when the deploy went out (ISO 8601 with a time zone); users signed in at or after it are migrated.
    deployed_at: AwareDatetime | None = None
    # lazy: column of tenant tables naming the user a row belongs to (its pre-migration owner).
    owner_column: str | None = None

    @model_validator(mode="after")
    def _lazy_keys(self) -> MigrationConfig:
        if self.mode == "lazy":
            missing = [k for k in ("signed_in_column", "deployed_at", "owner_column") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"mode lazy needs {', '.join(missing)}")
        return self


class TenancyConfig(Strict):
    """The tenancy model. Anything left out (None) is discovered from the catalog, never defaulted to the
    reference app's names (rollout_gate/catalog/discover.py); `ResolvedTenancy` is the completed block."""

    user_table: str | None = None
    user_key: str | None = None
    tenant_table: str | None = None
    tenant_table_key: str | None = None
    tenant_key: str | None = None
    membership: MembershipConfig = MembershipConfig()
    # Capabilities per role (default: the reference's owner/admin/member/viewer; left out on a schema whose
    # role values the catalog lists: derived from them, see rollout_gate/catalog/discover.py) and the invitation path.
    roles: RolesConfig = RolesConfig()
    invitations: InvitationsConfig | Literal["none"] = InvitationsConfig()
    # `none` in the file (None here): the model has no personal workspaces (their checks are not applicable).
    personal_workspace: PersonalWorkspaceConfig | None = PersonalWorkspaceConfig()
    # Tables exempt from isolation (shared reference data, owner-scoped rows).
    global_tables: tuple[str, ...] = ()
    # Tenant tables; empty means "every table carrying the tenant key".
    tenant_tables: tuple[str, ...] = ()
    # Schemas the integrity and isolation checks look at.
    schemas: tuple[str, ...] = ("public",)
    impersonation: ImpersonationConfig = ImpersonationConfig()
    integrity: IntegrityChecksConfig = IntegrityChecksConfig()
    probes: ProbesConfig = ProbesConfig()
    # Shapes of the model (docs/integrity-isolation.md, "Shapes"): per-table tenant key names,
    # `personal_workspace: none` above, users or tenants that may lack a tenant or an owner by design,
    # rows that are global by a predicate, and a migration made at first sign-in.
    tenant_keys: dict[str, str] = Field(default_factory=dict)
    users_without_tenant: Literal["forbidden", "allowed"] = "forbidden"
    tenants_without_owner: Literal["forbidden", "allowed"] = "forbidden"
    global_rows: dict[str, str] = Field(default_factory=dict)
    migration: MigrationConfig = MigrationConfig()

    @field_validator("personal_workspace", mode="before")
    @classmethod
    def _declared_none(cls, value: object) -> object:
        # Only the word `none` declares the model has none; an empty key is a mistake, not a declaration.
        if value == "none":
            return None
        if not isinstance(value, (dict, PersonalWorkspaceConfig)):
            raise ValueError("write none (the model has no personal workspaces) or a mapping")
        return value


class ResolvedMembership(MembershipConfig):
    """`membership:` with every key the checks read named (written in the file or discovered)."""

    table: str
    user_column: str
    tenant_column: str
    role_column: str
    owner_role: str


class ResolvedTenancy(TenancyConfig):
    """`tenancy:` completed from the catalog (`rollout_gate.catalog.discover.complete`): what the checks read."""

    user_table: str
    user_key: str
    tenant_table: str
    tenant_table_key: str
    tenant_key: str
    membership: ResolvedMembership


class SafetyConfig(Strict):
    # Tests marked `destructive` run only where writes are allowed.
    allow_writes: bool = False
    allow_load: bool = False


class ScaleConfig(Strict):
    users: int = Field(default=300, ge=1)
    rows: int = Field(default=100_000, ge=0)
    seed: int = 1


class LocalConfig(Strict):
    """Settings of the embedded local target (`kind: local`)."""

    scale: ScaleConfig = ScaleConfig()
    # Unset: the reference app's sets shipped with the package (relative paths: from the project root).
    migrations_dir: str | None = None
    rollback_dir: str | None = None
    # Where the embedded cluster keeps its data; relative to the project root.
    state_dir: str = ".rollout"


class PhasesConfig(Strict):
    # `watch` needs a metric source (the `watch:` block): an environment enables it by listing it.
    enabled: tuple[Phase, ...] = tuple(p for p in Phase if p is not Phase.WATCH)

    @field_validator("enabled")
    @classmethod
    def _unique(cls, value: tuple[Phase, ...]) -> tuple[Phase, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a phase is listed twice")
        return value


class SuitesConfig(Strict):
    predeploy: bool = True
    smoke: bool = True
    integrity: bool = True
    isolation: bool = True
    e2e: bool = True
    load: bool = True
    watch: bool = True
    rollback: bool = True


class ThresholdsConfig(Strict):
    """Limits named by criteria (`< thresholds.p95_ms`): finite, positive, rates from 0 to 1."""

    p95_ms: float = Field(default=500.0, gt=0, allow_inf_nan=False)
    error_rate: float = Field(default=0.01, ge=0, le=1, allow_inf_nan=False)
    error_rate_warn: float = Field(default=0.05, ge=0, le=1, allow_inf_nan=False)
    error_rate_rollback: float = Field(default=0.10, ge=0, le=1, allow_inf_nan=False)
    login_failure_warn: float = Field(default=0.05, ge=0, le=1, allow_inf_nan=False)
    login_failure_rollback: float = Field(default=0.10, ge=0, le=1, allow_inf_nan=False)
    min_requests: int = Field(default=100, ge=1)


class RollbackConfig(Strict):
    """The old application version after a rollback (the post-rollback phase, docs/rollback.md)."""

    # Where the old version serves once rolled back; unset: target.base_url (the local target: its v1 app).
    base_url: str | None = None
    # Checks of the old version's API, declared like smoke.endpoints (auth: none | existing_user).
    smoke: SmokeConfig = SmokeConfig()
    # The pre-migration column naming a row's owner: the baseline counts each existing user's rows by it.
    owner_column: str = "user_id"

    @field_validator("smoke")
    @classmethod
    def _no_test_users(cls, value: SmokeConfig) -> SmokeConfig:
        provisioned = [e.name for e in value.endpoints if e.auth == "test_user"]
        if provisioned:
            raise ValueError(
                f"auth: test_user is not available after a rollback (endpoints {', '.join(provisioned)}): "
                "use none or existing_user"
            )
        return value


class IntegrityConfig(Strict):
    """The data fingerprints at production scale (docs/integrity-isolation.md, "At scale"): where the baseline
    is read, and the budget its plan must fit (rollout_gate/integrity/plan.py)."""

    # A replica or restored snapshot to take the baseline on instead of the primary (a DSN, a secret like
    # target.database_url): the documented default for large tables, as it keeps the scans off the primary.
    source: SecretStr | None = None
    budget: IntegrityBudget = IntegrityBudget()
    # Tables checked on a key-hash sample only (never by default; warning level unless blocking: true).
    sampling: IntegritySampling = IntegritySampling()


class Environment(Strict):
    name: str
    kind: Literal["local", "remote"] = "remote"
    description: str = ""
    target: TargetConfig = TargetConfig()
    tenancy: TenancyConfig = TenancyConfig()
    safety: SafetyConfig = SafetyConfig()
    phases: PhasesConfig = PhasesConfig()
    suites: SuitesConfig = SuitesConfig()
    thresholds: ThresholdsConfig = ThresholdsConfig()
    local: LocalConfig = LocalConfig()
    # Pre-deploy checks: migration lint, rehearsal on a scratch copy, backup, readiness (docs/predeploy.md).
    predeploy: PredeployConfig = PredeployConfig()
    # The app's API: tenant-scoped endpoints for the API isolation suite (rollout_gate/api/config.py).
    api: ApiConfig = ApiConfig()
    # Endpoints smoke-tested without writing Python (rollout_gate/smoke/config.py).
    smoke: SmokeConfig = SmokeConfig()
    # The old version after a rollback: its URL and its smoke endpoints.
    rollback: RollbackConfig = RollbackConfig()
    # How test users, organizations and invitations are created and removed (rollout_gate/provisioning/config.py).
    provisioning: ProvisioningConfig = ProvisioningConfig()
    # Where test mail (invitation links) can be read.
    mail: MailConfig = MailConfig()
    # Browser settings of the E2E suite (rollout_gate/e2e/config.py).
    e2e: E2eConfig = E2eConfig()
    # The load phase and standalone Locust runs: virtual users, their mix, hard bounds (rollout_gate/load/config.py).
    load: LoadConfig = LoadConfig()
    # Changes to the go/no-go criteria for this environment (rollout_gate/criteria/defaults.yaml).
    criteria: CriteriaSection = CriteriaSection()
    # The watch phase: metric sources, signals and window criteria over the deploy window (docs/watch.md).
    watch: WatchConfig = WatchConfig()
    # Data fingerprints at scale: baseline source (replica) and the scan budget (IntegrityConfig above).
    integrity: IntegrityConfig = IntegrityConfig()
    # Migration invariants read over HTTP (a stats route, a Convex HTTP action): rollout_gate/invariants_http/.
    invariants: InvariantsConfig = InvariantsConfig()

    @model_validator(mode="after")
    def _database_none(self) -> Environment:
        if self.target.database != "none":
            return self
        if self.is_local:
            raise ValueError("target.database: none: kind local is the embedded PostgreSQL rehearsal (use kind remote)")
        if TargetConfig.given(self.integrity.source):
            raise ValueError("target.database: none, but integrity.source is set: remove one or the other")
        return self

    @property
    def reference_app(self) -> bool:
        """The target is the reference app: `target.app: reference`, or the local rehearsal, which deploys it."""
        return self.target.app == "reference" or self.is_local

    @property
    def is_local(self) -> bool:
        return self.kind == "local"
