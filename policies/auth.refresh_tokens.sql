alter table auth.refresh_tokens enable row level security;
