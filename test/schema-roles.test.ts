/**
 * What a schema script needs of the server, read from its statements' words: the roles a restore
 * refuses without (named before anything is created) must be the ones pg_restore would miss, never
 * words of a function body, a default value or a comment.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rolesReferenced, tablespacesReferenced } from '../common/schema-roles.js';
import { statementSkeletons } from '../common/sql-statements.js';

/** As `pg_restore --schema-only --file=-` writes it, with bodies and literals that look like statements. */
const SCRIPT = String.raw`\restrict AbC123
--
-- PostgreSQL database dump
--
SET default_tablespace = '';
CREATE PROCEDURE public.swap_events()
    LANGUAGE sql
    AS $$
ALTER TABLE events RENAME TO events_old;
GRANT SELECT ON public.t TO dropped_long_ago;
$$;
ALTER PROCEDURE public.swap_events() OWNER TO app_owner;
CREATE FUNCTION public.f() RETURNS text LANGUAGE plpgsql AS $body$ begin return 'x'; end $body$;
ALTER FUNCTION public.f() OWNER TO "Odd ""Owner""";
CREATE TABLE public.notes (
    note text DEFAULT 'hand it TO nobody_here;'::text,
    esc text DEFAULT E'it\'s TO nobody; really'::text
);
SET default_tablespace = fast;
ALTER TABLE public.notes OWNER TO app_owner;
COMMENT ON TABLE public.notes IS 'GRANT ALL ON x TO commented;';
/* a comment /* nested */ GRANT x TO in_comment; */
GRANT SELECT ON TABLE public.notes TO reader, "Report Reader";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE SELECT ON TABLE public.notes FROM revoked_one;
SET SESSION AUTHORIZATION "Grantor";
GRANT SELECT ON TABLE public.notes TO reader;
RESET SESSION AUTHORIZATION;
ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA public GRANT SELECT ON TABLES TO reader;
ALTER TABLE ONLY public.notes ALTER COLUMN note SET DEFAULT 'OWNER TO nobody;'::text;
CREATE POLICY p ON public.notes FOR SELECT TO policy_role, PUBLIC USING ((note <> 'TO nobody'::text));
CREATE POLICY q ON public.notes TO "Checker" WITH CHECK (true);
CREATE USER MAPPING FOR mapped_role SERVER srv OPTIONS (
    "user" 'TO nobody;'
);
CREATE USER MAPPING FOR public SERVER srv;
\unrestrict AbC123
`;

describe('schema script', () => {
  it('names the roles of OWNER TO, GRANT … TO, REVOKE … FROM, FOR ROLE, a grantor, a policy and a user mapping, never words of a body, a literal or a comment', () => {
    assert.deepEqual(rolesReferenced(SCRIPT), ['Checker', 'Grantor', 'Odd "Owner"', 'Report Reader', 'app_owner', 'mapped_role', 'policy_role', 'reader', 'revoked_one']);
  });

  it('names the tablespaces pg_dump selects', () => {
    assert.deepEqual(tablespacesReferenced(SCRIPT), ['fast']);
    assert.deepEqual(tablespacesReferenced("CREATE FUNCTION g() RETURNS void LANGUAGE sql AS $$\nSET default_tablespace = ghost;\n$$;"), []);
  });

  it('reduces each statement to its words: literals and bodies emptied, comments and meta-commands gone', () => {
    assert.deepEqual(statementSkeletons("\\restrict k\nSELECT 'a;b', $q$ c; $q$, \"x;y\" -- d;\n FROM t;\n/* e; */ SELECT a$b$c;"), [
      `SELECT '', $$, "x;y" FROM t;`,
      'SELECT a$b$c;',
    ]);
  });
});
