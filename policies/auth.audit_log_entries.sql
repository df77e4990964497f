alter table auth.audit_log_entries enable row level security;
