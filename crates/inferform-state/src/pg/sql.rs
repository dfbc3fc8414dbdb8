//! The tables and statements, written against one schema. The schema name is checked to be a
//! plain identifier and always quoted, so no setting can smuggle SQL into a statement.

use crate::StateError;

/// Statements for one schema.
#[derive(Clone, Debug)]
pub(crate) struct Sql {
    /// The schema name as given.
    pub schema: String,
    /// The schema name quoted for SQL.
    q: String,
}

/// Record kinds in the `records` table.
pub(crate) const RESOURCE: &str = "resource";
pub(crate) const OUTPUT: &str = "output";
pub(crate) const INTENT: &str = "intent";

/// The meta key holding the format version.
pub(crate) const FORMAT_KEY: &str = "format_version";

impl Sql {
    pub fn new(schema: &str) -> Result<Sql, StateError> {
        let ok = !schema.is_empty()
            && schema.len() <= 63
            && schema
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
        if !ok {
            return Err(StateError::BadConfig {
                message: format!(
                    "schema_name {schema:?} is not a plain identifier (a letter or '_', then letters, digits, '_' or '$', at most 63)"
                ),
            });
        }
        Ok(Sql {
            schema: schema.to_string(),
            q: format!("\"{}\"", schema.replace('"', "\"\"")),
        })
    }

    /// The schema name quoted for SQL.
    pub fn quoted(&self) -> &str {
        &self.q
    }

    /// A table of the schema, qualified and quoted.
    pub fn t(&self, table: &str) -> String {
        format!("{}.{table}", self.q)
    }

    pub fn create_schema(&self) -> String {
        format!("CREATE SCHEMA IF NOT EXISTS {}", self.q)
    }

    /// The tables, each created only if missing, so that `init` can run again and a later
    /// version can add tables beside them.
    ///
    /// Record values are JSON text, not jsonb: jsonb reorders object keys (shortest first), and
    /// state keeps attributes in the order the provider gave them. Cast to jsonb to query them.
    pub fn create_tables(&self) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {meta} (
                key text PRIMARY KEY,
                value text NOT NULL
            );
            CREATE TABLE IF NOT EXISTS {workspaces} (
                name text PRIMARY KEY,
                lineage text NOT NULL,
                serial bigint NOT NULL DEFAULT 0,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE IF NOT EXISTS {records} (
                workspace text NOT NULL,
                kind text NOT NULL,
                key text NOT NULL,
                value text NOT NULL,
                PRIMARY KEY (workspace, kind, key)
            );
            CREATE TABLE IF NOT EXISTS {history} (
                workspace text NOT NULL,
                serial bigint NOT NULL,
                at text NOT NULL,
                who text NOT NULL,
                command text NOT NULL,
                fingerprint text,
                resources integer NOT NULL,
                snapshot text NOT NULL,
                PRIMARY KEY (workspace, serial)
            );
            CREATE TABLE IF NOT EXISTS {locks} (
                workspace text PRIMARY KEY,
                info jsonb NOT NULL,
                backend_pid integer NOT NULL
            );",
            meta = self.t("meta"),
            workspaces = self.t("workspaces"),
            records = self.t("records"),
            history = self.t("history"),
            locks = self.t("locks"),
        )
    }

    /// One record written, with the serial bumped, in one statement ($1 workspace, $2 kind,
    /// $3 key, $4 value). Returns the new serial, or no row when the workspace is gone.
    pub fn put(&self) -> String {
        format!(
            "WITH bump AS (
                UPDATE {w} SET serial = serial + 1 WHERE name = $1::text RETURNING serial
            ), put AS (
                INSERT INTO {r} (workspace, kind, key, value)
                SELECT $1::text, $2::text, $3::text, $4::text FROM bump
                ON CONFLICT (workspace, kind, key) DO UPDATE SET value = EXCLUDED.value
            )
            SELECT serial FROM bump",
            w = self.t("workspaces"),
            r = self.t("records"),
        )
    }

    /// One record removed, with the serial bumped ($1 workspace, $2 kind, $3 key).
    pub fn remove(&self) -> String {
        format!(
            "WITH bump AS (
                UPDATE {w} SET serial = serial + 1 WHERE name = $1::text RETURNING serial
            ), gone AS (
                DELETE FROM {r} WHERE workspace = $1::text AND kind = $2::text AND key = $3::text
                AND EXISTS (SELECT 1 FROM bump)
            )
            SELECT serial FROM bump",
            w = self.t("workspaces"),
            r = self.t("records"),
        )
    }

    /// Every output replaced, with the serial bumped ($1 workspace, $2 keys, $3 values). The
    /// delete and the upsert touch disjoint rows, so one statement can do both.
    pub fn outputs(&self) -> String {
        format!(
            "WITH bump AS (
                UPDATE {w} SET serial = serial + 1 WHERE name = $1::text RETURNING serial
            ), gone AS (
                DELETE FROM {r} WHERE workspace = $1::text AND kind = '{OUTPUT}'
                AND NOT (key = ANY($2::text[])) AND EXISTS (SELECT 1 FROM bump)
            ), put AS (
                INSERT INTO {r} (workspace, kind, key, value)
                SELECT $1::text, '{OUTPUT}', u.k, u.v FROM bump, unnest($2::text[], $3::text[]) AS u(k, v)
                ON CONFLICT (workspace, kind, key) DO UPDATE SET value = EXCLUDED.value
            )
            SELECT serial FROM bump",
            w = self.t("workspaces"),
            r = self.t("records"),
        )
    }

    /// The whole state of a workspace in one statement, so that it is one consistent moment
    /// ($1 workspace). No row: the workspace does not exist.
    pub fn load(&self) -> String {
        format!(
            "SELECT w.lineage, w.serial, r.kind, r.key, r.value
             FROM {w} w LEFT JOIN {r} r ON r.workspace = w.name
             WHERE w.name = $1::text",
            w = self.t("workspaces"),
            r = self.t("records"),
        )
    }

    /// Whether backend `$1` holds the session advisory lock whose 64-bit key is split in
    /// `$2` (high 32 bits) and `$3` (low 32 bits), in this database: pg_locks shows an
    /// int8 advisory key as classid and objid, with objsubid 1.
    pub fn holds_lock(&self) -> &'static str {
        "SELECT EXISTS (
            SELECT 1 FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND pid = $1::integer
              AND classid::bigint = $2::bigint AND objid::bigint = $3::bigint AND objsubid = 1
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        )"
    }

    /// The lock row of workspace `$1`, if the backend it names still holds the workspace's
    /// advisory lock (`$2`, `$3` as in [`Sql::holds_lock`]): a row left by a holder that is
    /// gone names nobody.
    pub fn live_holder(&self) -> String {
        format!(
            "SELECT l.info FROM {locks} l
             WHERE l.workspace = $1::text AND EXISTS (
                SELECT 1 FROM pg_locks p
                WHERE p.locktype = 'advisory' AND p.granted AND p.pid = l.backend_pid
                  AND p.classid::bigint = $2::bigint AND p.objid::bigint = $3::bigint
                  AND p.objsubid = 1
                  AND p.database = (SELECT oid FROM pg_database WHERE datname = current_database())
             )",
            locks = self.t("locks"),
        )
    }
}

/// The advisory lock key of a workspace: a stable 64-bit hash (FNV-1a) of the schema and the
/// workspace, so every inferform, of any version, on any machine, picks the same key.
pub(crate) fn lock_key(schema: &str, workspace: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in b"inferform-state\0"
        .iter()
        .chain(schema.as_bytes())
        .chain(b"\0")
        .chain(workspace.as_bytes())
    {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h as i64
}

/// The key's halves as pg_locks shows them (classid, objid).
pub(crate) fn key_halves(key: i64) -> (i64, i64) {
    let k = key as u64;
    ((k >> 32) as i64, (k & 0xffff_ffff) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_identifiers() {
        assert!(Sql::new("inferform_remote_state").is_ok());
        assert!(Sql::new("_x$1").is_ok());
        for bad in ["", "1a", "a-b", "a\"b", "a;drop", &"x".repeat(64)] {
            assert!(Sql::new(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Sql::new("s").unwrap().t("locks"), "\"s\".locks");
    }

    #[test]
    fn lock_keys_are_stable_and_distinct() {
        assert_eq!(lock_key("s", "default"), lock_key("s", "default"));
        assert_ne!(lock_key("s", "default"), lock_key("s", "prod"));
        assert_ne!(lock_key("s", "ab"), lock_key("sa", "b"));
        let (hi, lo) = key_halves(-1);
        assert_eq!((hi, lo), (0xffff_ffff, 0xffff_ffff));
    }
}
