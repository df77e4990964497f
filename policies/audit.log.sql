alter table audit.log enable row level security;
