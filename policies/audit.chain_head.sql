alter table audit.chain_head enable row level security;
