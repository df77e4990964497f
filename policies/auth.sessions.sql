alter table auth.sessions enable row level security;
