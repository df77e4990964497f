alter table auth_flow.session_methods enable row level security;
