"""The defect catalogue: each directory here is a migration set (the reference migrations, symlinked,
plus one `0099_defect.sql`) with one defect, and this module says what must catch it.

Rehearse one by hand: `ROLLOUT_MIGRATIONS_DIR=tests/defects/lost_rows pytest --env=local`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFECTS_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Catch:
    """A criterion that must fail, the test that fails it, and what its failure message must name."""

    criterion: str
    test: str
    mentions: tuple[str, ...]
    marker: str


@dataclass(frozen=True)
class Defect:
    name: str
    catches: tuple[Catch, ...]
    # Tests that must still pass: the defect is caught by the check meant for it, not by accident.
    passes: tuple[str, ...] = ()

    @property
    def migrations(self) -> Path:
        return DEFECTS_DIR / self.name

    @property
    def markers(self) -> str:
        return " or ".join(sorted({c.marker for c in self.catches}))

    def __str__(self) -> str:
        return self.name


RLS_TABLES = "test_every_tenant_or_granted_table_has_row_level_security"
RLS_POLICIES = "test_no_policy_or_function_lets_every_tenant_through"
READS = "test_members_see_no_row_of_another_tenant"
WRITES = "test_members_cannot_change_insert_or_move_rows_across_tenants"
ANON = "test_anonymous_role_reaches_no_tenant_row"
BLIND = "test_update_and_delete_policies_keep_unfiltered_statements_in_the_tenant"
SPOOF = "test_members_cannot_attribute_rows_to_another_user"
NO_LOSS = "test_every_pre_migration_row_is_unchanged"

INTEGRITY = [
    Defect("lost_rows", (Catch("zero_data_loss", NO_LOSS, ("public.time_entries", "lost 3: id="), "integrity"),)),
    Defect("changed_row", (Catch("zero_data_loss", NO_LOSS, ("public.clients", "changed 1: id="), "integrity"),)),
    Defect(
        "dropped_column", (Catch("zero_data_loss", NO_LOSS, ("public.clients", "columns dropped: email"), "integrity"),)
    ),
    Defect(
        "users_without_workspace",
        (
            Catch(
                "every_user_has_workspace",
                "test_every_user_has_an_active_membership",
                ("auth.users: 2 users without an active membership",),
                "integrity",
            ),
            Catch(
                "every_organization_has_owner",
                "test_every_organization_has_an_owner",
                ("public.organizations: 2 tenants without an active 'owner' membership",),
                "integrity",
            ),
            Catch(
                "every_user_has_workspace",
                "test_every_user_has_exactly_one_personal_workspace",
                ("public.organizations: 2 personal workspaces whose owner is not their active owner member",),
                "integrity",
            ),
        ),
    ),
    Defect(
        "duplicate_workspace",
        (
            Catch(
                "every_user_has_workspace",
                "test_every_user_has_exactly_one_personal_workspace",
                ("public.organizations: 1 users with more than one personal workspace", "(2 workspaces)"),
                "integrity",
            ),
            Catch(
                "migration_counts_reconcile",
                "test_runbook_counts_reconcile",
                ("personal workspaces created (41) != users (40)",),
                "integrity",
            ),
        ),
    ),
    Defect(
        "racy_workspace_function",
        (
            Catch(
                "personal_workspace_idempotent",
                "test_concurrent_calls_leave_exactly_one_workspace",
                ("4 concurrent calls for a new user: user", "has 4 personal workspaces, expected exactly 1"),
                "integrity",
            ),
        ),
        passes=("test_calling_it_twice_leaves_exactly_one_workspace",),
    ),
    Defect(
        "orphans_after_bulk_delete",
        (
            Catch(
                "no_orphans",
                "test_no_orphans_along_foreign_keys",
                ("public.time_entries:", "orphaned rows along public.time_entries(project_id) -> public.projects(id)"),
                "integrity",
            ),
        ),
    ),
    Defect(
        "rows_without_tenant",
        (
            Catch(
                "no_orphans",
                "test_no_tenant_row_lacks_a_valid_tenant",
                ("public.time_entries: 5 rows with NULL organization_id",),
                "integrity",
            ),
        ),
    ),
    Defect(
        "children_in_other_tenant",
        (
            Catch(
                "no_orphans",
                "test_children_belong_to_their_parents_tenant",
                ("public.time_entries: 4 rows in another tenant than their parent", "projects(id)"),
                "integrity",
            ),
        ),
    ),
]

ISOLATION = [
    Defect(
        "rls_disabled",
        (
            Catch("rls_coverage", RLS_TABLES, ("public.projects: row level security is not enabled",), "isolation"),
            Catch("zero_cross_tenant_access", READS, ("public.projects: SELECT as member of tenant",), "isolation"),
        ),
    ),
    Defect(
        "always_true_policy",
        (
            Catch(
                "rls_coverage", RLS_POLICIES, ("public.clients policy clients_read_all", "USING (true)"), "isolation"
            ),
            Catch("zero_cross_tenant_access", READS, ("public.clients: SELECT", "clients_read_all"), "isolation"),
        ),
    ),
    Defect(
        "new_table_without_rls",
        (
            Catch("rls_coverage", RLS_TABLES, ("public.expenses: row level security is not enabled",), "isolation"),
            Catch("zero_cross_tenant_access", READS, ("public.expenses: SELECT",), "isolation"),
        ),
    ),
    Defect(
        "view_without_invoker",
        (
            Catch(
                "rls_coverage",
                RLS_TABLES,
                ("public.project_overview: view of public.projects granted to authenticated", "security_invoker"),
                "isolation",
            ),
        ),
    ),
    Defect(
        "anonymous_access",
        (
            Catch("zero_cross_tenant_access", ANON, ("public.projects: ANON_SELECT as anon: saw",), "isolation"),
            Catch("rls_coverage", RLS_POLICIES, ("public.projects policy projects_public_read",), "isolation"),
        ),
    ),
    Defect(
        "cross_tenant_insert",
        (
            Catch(
                "zero_cross_tenant_access",
                WRITES,
                ("public.clients: INSERT as member of tenant", "wrote a row keyed to tenant", "clients_insert_writers"),
                "isolation",
            ),
        ),
    ),
    Defect(
        "cross_tenant_update",
        (
            Catch(
                "zero_cross_tenant_access",
                WRITES,
                ("public.projects: MOVE as member of tenant", "moved its own row to tenant", "projects_update_writers"),
                "isolation",
            ),
        ),
    ),
    Defect(
        "cross_tenant_delete",
        (
            Catch(
                "zero_cross_tenant_access",
                BLIND,
                ("public.clients: BLIND_DELETE as member of tenant", "an unfiltered DELETE", "clients_delete_writers"),
                "isolation",
            ),
        ),
        # Statically the policy looks at the row, and a filtered DELETE is saved by the SELECT policy.
        passes=(RLS_POLICIES, READS, WRITES),
    ),
    Defect(
        "rls_not_forced",
        (
            Catch(
                "rls_coverage",
                RLS_TABLES,
                ("public.time_entries: RLS is enabled but not forced", "rg_app"),
                "isolation",
            ),
        ),
    ),
    Defect(
        "user_metadata_policy",
        (
            Catch(
                "rls_user_metadata",
                "test_no_policy_trusts_metadata_users_edit_themselves",
                ("public.clients policy clients_claimed_org", "reads user_metadata through public.claimed_org()"),
                "isolation",
            ),
        ),
        # Statically the policy looks at the row, and the probes' members wrote no metadata: only the lint sees it.
        passes=(RLS_POLICIES, READS),
    ),
    Defect(
        "anon_definer_function",
        (Catch("rls_coverage", RLS_POLICIES, ("public.project_count(org uuid)", "executable by anon"), "isolation"),),
    ),
    Defect(
        "empty_table_read_leak",
        (
            Catch(
                "zero_cross_tenant_access",
                READS,
                (
                    "public.invitations: SELECT as member of tenant",
                    "row(s) of other tenants",
                    "invitations_select_signed_in",
                ),
                "isolation",
            ),
        ),
    ),
    Defect(
        "slug_check_spoof",
        (
            Catch(
                "zero_cross_tenant_access",
                SPOOF,
                (
                    "public.organizations: SPOOF_INSERT as member of tenant",
                    "wrote a row with created_by = another user",
                    "organizations_insert_creator",
                ),
                "isolation",
            ),
        ),
        passes=(READS, WRITES),
    ),
]

# Variants of the reference that are no defect: each must stay GO, with these tests passing.
CLEAN_VARIANTS = [
    # Triggers stamp created_by/invited_by/user_id with the caller: a spoof that goes through stores the caller.
    Defect("trigger_stamped_spoof", (), passes=(SPOOF, WRITES, READS)),
]

# Role rules in the database (db_role_rules): policy-only defects the reference app's API would hide.
DB_READ_ONLY = "test_read_only_roles_cannot_write_tenant_data[declared]"
DB_ESCALATION = "test_nobody_raises_their_own_role_or_joins_a_tenant_uninvited"
DB_INACTIVE = "test_inactive_members_and_non_members_get_nothing"
DB_MANAGE = "test_only_managers_manage_memberships_and_invitations"
DB_ROLE_TESTS = (DB_READ_ONLY, DB_MANAGE, DB_ESCALATION, DB_INACTIVE)

ROLES = [
    Defect(
        "viewer_can_update_db",
        (
            Catch(
                "db_role_rules",
                DB_READ_ONLY,
                ("public.clients: UPDATE as viewer (user", "stored a new version of id=", "clients_update_writers"),
                "isolation",
            ),
        ),
        passes=(DB_MANAGE, DB_ESCALATION, DB_INACTIVE, READS, WRITES, BLIND),
    ),
    Defect(
        "self_join_any_org",
        (
            Catch(
                "db_role_rules",
                DB_ESCALATION,
                ("public.memberships: SELF_JOIN as non-member (user", "stored a membership of its own in",
                 "memberships_insert_self"),
                "isolation",
            ),
        ),
        passes=(DB_READ_ONLY, DB_MANAGE, DB_INACTIVE, READS, WRITES, BLIND),
    ),
    Defect(
        "member_raises_own_role",
        (
            Catch(
                "db_role_rules",
                DB_ESCALATION,
                ("public.memberships: RAISE_ROLE as member (user", "RAISE_ROLE as viewer (user",
                 "stored role = owner in its own membership", "memberships_update_self"),
                "isolation",
            ),
        ),
        passes=(DB_READ_ONLY, DB_MANAGE, DB_INACTIVE, READS, WRITES, BLIND),
    ),
    Defect(
        "suspended_member_keeps_access",
        (
            Catch(
                "db_role_rules",
                DB_INACTIVE,
                ("public.clients: SELECT as inactive owner (user", "saw rows of tenant",
                 "public.memberships: REACTIVATE as inactive owner", "stored status = active in its own membership",
                 "public.invitations: INSERT as inactive owner"),
                "isolation",
            ),
        ),
        passes=(DB_READ_ONLY, DB_MANAGE, DB_ESCALATION, READS, WRITES, BLIND),
    ),
]
