alter table private.staff_members enable row level security;
