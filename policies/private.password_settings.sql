alter table private.password_settings enable row level security;
