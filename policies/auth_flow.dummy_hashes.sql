alter table auth_flow.dummy_hashes enable row level security;
