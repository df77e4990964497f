alter table auth.identities enable row level security;
