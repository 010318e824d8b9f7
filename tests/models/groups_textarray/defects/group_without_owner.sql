-- fails: every_organization_has_owner
-- names: public.groups
-- "Owners are admins anyway": a clean-up script strips `owner` from the Sales group's owner, whose roles
-- become {admin}. The group has admins but no owner; with the roles in a text[] the check must look into
-- the array (`'owner' = any(roles)`), not compare the array with 'owner'.
update public.group_members set roles = array_remove(roles, 'owner')
where group_id = md5('groupsales')::uuid and 'owner' = any(roles);
