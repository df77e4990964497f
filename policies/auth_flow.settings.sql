alter table auth_flow.settings enable row level security;
