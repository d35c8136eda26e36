//! GUP-fast (`get_user_pages_fast` / `pin_user_pages_fast`) and the locked slow path.
