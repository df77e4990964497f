alter table public.deployments enable row level security;
alter table public.deployments force row level security;

grant select, insert, update, delete on public.deployments to authenticated;
grant select, insert, update, delete on public.deployments to service_role;

create policy user_read_own_deployments on public.deployments
  for select to authenticated
  using ((select auth.uid()) = user_id);

create policy user_insert_own_deployments on public.deployments
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

create policy user_update_own_deployments on public.deployments
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

create policy user_delete_own_deployments on public.deployments
  for delete to authenticated
  using ((select auth.uid()) = user_id);

create policy staff_read_all_deployments on public.deployments
  for select to staff
  using ((select private.is_staff()));
