alter table auth_flow.login_attempts enable row level security;
