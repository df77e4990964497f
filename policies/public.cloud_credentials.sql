alter table public.cloud_credentials enable row level security;
alter table public.cloud_credentials force row level security;

grant select (id, user_id, created_at) on public.cloud_credentials to authenticated;
grant insert, update, delete on public.cloud_credentials to authenticated;
grant select, insert, update, delete on public.cloud_credentials to service_role;

create policy user_read_own_cloud_credentials on public.cloud_credentials
  for select to authenticated
  using ((select auth.uid()) = user_id);

create policy user_insert_own_cloud_credentials on public.cloud_credentials
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

create policy user_update_own_cloud_credentials on public.cloud_credentials
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

create policy user_delete_own_cloud_credentials on public.cloud_credentials
  for delete to authenticated
  using ((select auth.uid()) = user_id);
