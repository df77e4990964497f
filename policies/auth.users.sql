alter table auth.users enable row level security;
