-- The key store's own database (MAPPA_KEY_STORE_URL), apart from the services' store, made by
-- docker compose's `key-store` job when missing: CREATE DATABASE has no IF NOT EXISTS, so the
-- statement is run only when the query finds none (psql's \gexec runs each row it returns).
SELECT 'CREATE DATABASE mappa_keys'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'mappa_keys')\gexec
