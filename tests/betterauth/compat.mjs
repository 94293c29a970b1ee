// Better Auth itself against databases that `dbreg init` built from tomls/:
// its migration planner must find nothing to create or change, and a real
// sign-up, sign-in, session, profile update and password reset must work.
// The pinned Better Auth (package.json) is the version tomls/core.toml follows.
//
// usage: node compat.mjs DBREG TOMLS_DIR      (tests/betterauth/run.sh installs it)
// PostgreSQL cases use DBREG_TEST_PG_URL, a fresh database per scenario; they
// fail without it unless DBREG_TEST_NO_PG=1. Prints TAP.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { betterAuth } from "better-auth";
import { getAuthTables } from "better-auth/db";
import { getMigrations } from "better-auth/db/migration";
import Database from "better-sqlite3";
import pg from "pg";

const [DBREG, TOMLS] = process.argv.slice(2).map((p) => resolve(p));
const PG_URL = process.env.DBREG_TEST_PG_URL;
const NO_PG = process.env.DBREG_TEST_NO_PG === "1";
const CORE = "@ydtb/core";
// The last core version with Better Auth 1.7.0-1.7.2's account layout
// (account.issuer, NOT NULL): the drift this test exists to catch.
const DRIFTED = "1.0.0";
const PINNED = JSON.parse(readFileSync(new URL("./node_modules/better-auth/package.json", import.meta.url))).version;

// The four models whose tables the core package declares, and the snake_case
// column of every field Better Auth gives them. Derived from Better Auth's own
// table list, so a field a new version adds shows up as a column to add.
const MODELS = ["user", "session", "account", "verification"];
const snake = (name) => name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
function snakeCaseFields() {
	const tables = getAuthTables({});
	const out = {};
	for (const model of MODELS) {
		out[model] = { fields: {} };
		for (const field of Object.keys(tables[model].fields))
			if (snake(field) !== field) out[model].fields[field] = snake(field);
	}
	return out;
}
const FIELDS = snakeCaseFields();

function redact(text) {
	return String(text).replace(/(\/\/[^:/@\s]*:)[^@\s]*@/g, "$1***@");
}

// ---- the databases -------------------------------------------------------

const dialects = {
	sqlite: {
		async create(dir) {
			const file = join(dir, "app.db");
			return { url: "sqlite:" + file, file, drop: async () => {} };
		},
		open(target) {
			const db = new Database(target.file);
			return {
				database: db,
				rows: async (sql, params = []) => db.prepare(sql).all(...params),
				close: async () => db.close(),
			};
		},
	},
	postgres: {
		seq: 0,
		async create() {
			const name = `ydtb_betterauth_${process.pid}_${++this.seq}`;
			const admin = new pg.Client({ connectionString: PG_URL });
			await admin.connect();
			await admin.query(`CREATE DATABASE ${name}`);
			await admin.end();
			const u = new URL(PG_URL);
			u.pathname = "/" + name;
			return {
				url: u.toString(),
				drop: async () => {
					const c = new pg.Client({ connectionString: PG_URL });
					await c.connect();
					await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
					await c.end();
				},
			};
		},
		open(target) {
			const pool = new pg.Pool({ connectionString: target.url, max: 4 });
			return {
				database: pool,
				rows: async (sql, params = []) => {
					let i = 0;
					return (await pool.query(sql.replace(/\?/g, () => "$" + ++i), params)).rows;
				},
				close: async () => pool.end(),
			};
		},
	},
};

function dbreg(args, cwd) {
	const env = { ...process.env, NO_COLOR: "1" };
	delete env.DBREG_TEST_PG_URL;
	const r = spawnSync(DBREG, [...args, "--json"], { cwd, env, encoding: "utf8", timeout: 120000 });
	let doc = null;
	try {
		doc = JSON.parse(r.stdout);
	} catch {}
	if (r.status !== 0 || !doc || doc.ok === false)
		throw new Error(`dbreg ${args.map(redact).join(" ")} exited ${r.status}: ${redact(r.stdout + r.stderr)}`);
	return doc;
}

// ---- Better Auth on one database ------------------------------------------

function authOptions(handle, logs, extra = {}) {
	return {
		database: handle.database,
		secret: "dbreg-betterauth-compat-secret-0123456789",
		baseURL: "http://localhost:3000",
		telemetry: { enabled: false },
		rateLimit: { enabled: false },
		logger: { level: "warn", log: (level, message) => logs.push(`${level}: ${message}`) },
		...FIELDS,
		...extra,
		emailAndPassword: { enabled: true, ...extra.emailAndPassword },
	};
}

// Better Auth names its date columns DATE on SQLite (NUMERIC affinity) and
// stores ISO-8601 text in them; dbreg stores timestamptz as TEXT, which holds
// the same text. The planner warns about the name and changes nothing.
const TOLERATED = {
	sqlite: /^warn: Field \w+ in table \w+ has a different type in the database\. Expected date but got TEXT\.$/,
};

// What Better Auth's planner would do to the database, one line per change;
// empty when the database is what Better Auth expects. Tolerated warnings go
// to `tolerated`.
async function plannerChanges(handle, dialect, tolerated = []) {
	const logs = [];
	const m = await getMigrations(authOptions(handle, logs), { throwOnUnsafe: false });
	for (let i = logs.length - 1; i >= 0; i--)
		if (TOLERATED[dialect]?.test(logs[i])) tolerated.unshift(...logs.splice(i, 1));
	const changes = [
		...m.toBeCreated.map((t) => `create table ${t.table}`),
		...m.toBeAdded.flatMap((t) => Object.keys(t.fields).map((f) => `add column ${t.table}.${f}`)),
		...m.toBeAddedIndexes.map((i) => `create index ${i.name} on ${i.table}`),
		...m.unsafeChanges.map((s) => `unsafe: ${s}`),
		...m.schemaProblems.map((s) => `schema problem: ${s}`),
		...logs,
	];
	const script = m.toBeCreated.length + m.toBeAdded.length + m.toBeAddedIndexes.length ? await m.compileMigrations() : "";
	if (script) changes.push(`the SQL Better Auth would run:\n${script}`);
	return changes;
}

function describe(err) {
	const parts = [];
	for (let e = err, depth = 0; e && depth < 5; e = e.cause, depth++) {
		parts.push(`${e.name || "Error"}: ${e.message}`);
		if (e.body) parts.push(JSON.stringify(e.body));
		if (e.code) parts.push(`code ${e.code}`);
	}
	return parts.join(" / ");
}

function check(cond, what) {
	if (!cond) throw new Error(what);
}

function cookieOf(headers) {
	const set = headers.getSetCookie ? headers.getSetCookie() : [headers.get("set-cookie")];
	return set.filter(Boolean).map((c) => c.split(";")[0]).join("; ");
}

// The flow an application runs, through auth.api, with the rows it leaves
// read back with plain SQL.
async function flow(handle) {
	const logs = [];
	const mail = [];
	const auth = betterAuth(authOptions(handle, logs, {
		emailAndPassword: { sendResetPassword: async ({ user, token }) => void mail.push({ user, token }) },
	}));
	const email = `ada.${Date.now()}@example.com`;
	const first = "correct horse battery", second = "staple gun lighthouse";

	const up = await auth.api.signUpEmail({ body: { email, password: first, name: "Ada" } });
	const id = up.user.id;
	check(up.user.email === email && up.token, "sign-up returned no user or token");

	const signin = await auth.api.signInEmail({ body: { email, password: first }, returnHeaders: true });
	const headers = new Headers({ cookie: cookieOf(signin.headers) });
	const session = await auth.api.getSession({ headers });
	check(session && session.user.id === id, "getSession after sign-in did not return the user");

	await auth.api.updateUser({ body: { name: "Ada Lovelace" }, headers });
	const [user] = await handle.rows(`SELECT * FROM "user" WHERE "id" = ?`, [id]);
	check(user && user.name === "Ada Lovelace" && user.email === email, "user row: " + JSON.stringify(user));
	check(user.email_verified == false && user.created_at && user.updated_at, "user row: " + JSON.stringify(user));

	const [before] = await handle.rows(`SELECT * FROM "account" WHERE "user_id" = ?`, [id]);
	check(before && before.provider_id === "credential" && before.account_id === id && before.password,
		"credential account row: " + JSON.stringify({ ...before, password: before?.password ? "(hash)" : null }));

	await auth.api.requestPasswordReset({ body: { email } });
	check(mail.length === 1 && mail[0].token, "sendResetPassword was not called with a token");
	const identifier = `reset-password:${mail[0].token}`;
	const pending = await handle.rows(`SELECT * FROM "verification" WHERE "identifier" = ?`, [identifier]);
	check(pending.length === 1 && pending[0].value === id && pending[0].expires_at,
		`verification rows for the reset token: ${pending.length}`);
	await auth.api.resetPassword({ body: { newPassword: second, token: mail[0].token } });
	const consumed = await handle.rows(`SELECT * FROM "verification" WHERE "identifier" = ?`, [identifier]);
	check(consumed.length === 0, "the reset token's verification row was not consumed");
	const [after] = await handle.rows(`SELECT "password" FROM "account" WHERE "id" = ?`, [before.id]);
	check(after.password && after.password !== before.password, "the password hash did not change");

	check(logs.length === 0, "Better Auth logged: " + logs.join(" | "));
	let refused = false;
	try {
		await auth.api.signInEmail({ body: { email, password: first } });
	} catch {
		refused = true;
	}
	check(refused, "the old password still signs in");
	logs.length = 0; // its "Invalid password" warning
	const again = await auth.api.signInEmail({ body: { email, password: second } });
	check(again.user.id === id && again.token, "sign-in with the new password failed");

	const sessions = await handle.rows(`SELECT * FROM "session" WHERE "user_id" = ?`, [id]);
	check(sessions.length >= 2 && sessions.every((s) => s.token && s.expires_at),
		`session rows for the user: ${sessions.length}`);
	check(sessions.some((s) => s.token === again.token), "no session row for the last sign-in");
	check(logs.length === 0, "Better Auth logged: " + logs.join(" | "));
	return { id, email, password: second };
}

async function signIn(handle, user) {
	const logs = [];
	const auth = betterAuth(authOptions(handle, logs));
	const r = await auth.api.signInEmail({ body: { email: user.email, password: user.password } });
	check(r.user.id === user.id && r.token, "sign-in failed");
	check(logs.length === 0, "Better Auth logged: " + logs.join(" | "));
}

// The drifted layout, as an application sees it: with Better Auth's schema
// check the database is refused; without it the sign-up itself fails.
async function driftFailures(handle) {
	const found = [];
	for (const validateSchema of [true, false]) {
		const auth = betterAuth(authOptions(handle, [], { advanced: { database: { validateSchema } } }));
		try {
			await auth.api.signUpEmail({
				body: { email: `drift.${validateSchema}.${Date.now()}@example.com`, password: "correct horse battery", name: "D" },
			});
			found.push(`schema check ${validateSchema ? "on" : "off"}: sign-up succeeded`);
		} catch (err) {
			found.push(`schema check ${validateSchema ? "on" : "off"}: ${describe(err)}`);
		}
	}
	return found;
}

// ---- cases ----------------------------------------------------------------

class Skip extends Error {}
const GATE = "gate";

// A scenario is a database and a project folder; its steps run in order. A
// step marked GATE builds the database the later ones read: after it fails,
// they are reported as not run.
function scenario(dialect, label, steps) {
	let ctx = null, broken = null;
	const end = async () => {
		if (!ctx) return;
		const c = ctx;
		ctx = null;
		if (c.handle) await c.handle.close();
		await c.target.drop();
		rmSync(c.dir, { recursive: true, force: true });
	};
	return steps.map(([name, fn, gate]) => ({
		name: `${dialect}: ${label}: ${name}`,
		end,
		async run() {
			if (dialect === "postgres" && !PG_URL) {
				if (NO_PG) throw new Skip("DBREG_TEST_NO_PG=1");
				throw new Error("DBREG_TEST_PG_URL is not set: the PostgreSQL test server did not start");
			}
			if (broken) throw new Error(`not run: ${broken} failed`);
			try {
				if (!ctx) {
					const dir = mkdtempSync(join(tmpdir(), "dbreg-betterauth-"));
					cpSync(TOMLS, join(dir, "tomls"), { recursive: true });
					ctx = { dir, dialect, target: await dialects[dialect].create(dir) };
				}
				return await fn(ctx);
			} catch (err) {
				if (gate === GATE) broken = name;
				throw err;
			}
		},
	}));
}

const open = (ctx) => (ctx.handle ??= dialects[ctx.dialect].open(ctx.target));

async function plannerIsClean(ctx) {
	const tolerated = [];
	const changes = await plannerChanges(open(ctx), ctx.dialect, tolerated);
	check(changes.length === 0, `Better Auth ${PINNED} would change the database:\n` + changes.join("\n"));
	if (tolerated.length) return `tolerated (TEXT holds Better Auth's ISO-8601 dates):\n` + tolerated.join("\n");
}

function coreVersion(ctx) {
	const doc = dbreg(["status", "--target", ctx.target.url], ctx.dir);
	return doc.packages.find((p) => p.name === CORE).installed_version;
}

const cases = [];
for (const dialect of ["sqlite", "postgres"]) {
	cases.push(...scenario(dialect, "dbreg init", [
		["builds the database from tomls/", (ctx) => {
			dbreg(["init", "--target", ctx.target.url], ctx.dir);
			return `${CORE} ${coreVersion(ctx)}`;
		}, GATE],
		[`Better Auth ${PINNED}'s migration planner finds nothing to create or change`, plannerIsClean],
		["sign-up, sign-in, session, update, password reset and sign-in again work", (ctx) => flow(open(ctx))],
	]));
	cases.push(...scenario(dialect, `upgrade from ${CORE} ${DRIFTED}`, [
		[`dbreg init --to ${CORE}@${DRIFTED}`, (ctx) => {
			dbreg(["init", "--to", `${CORE}@${DRIFTED}`, "--target", ctx.target.url], ctx.dir);
			check(coreVersion(ctx) === DRIFTED, `${CORE} is not at ${DRIFTED}`);
		}, GATE],
		[`Better Auth ${PINNED} refuses ${DRIFTED}, naming issuer`, async (ctx) => {
			const changes = await plannerChanges(open(ctx), ctx.dialect);
			check(changes.some((c) => /issuer/.test(c)), "the planner did not name issuer: " + JSON.stringify(changes));
			const failures = await driftFailures(ctx.handle);
			check(failures.every((f) => /issuer/.test(f)), "a sign-up did not fail naming issuer:\n" + failures.join("\n"));
			return [...changes.filter((c) => /issuer/.test(c)), ...failures].join("\n");
		}],
		["dbreg apply upgrades the core", (ctx) => {
			dbreg(["apply", "--target", ctx.target.url], ctx.dir);
			const v = coreVersion(ctx);
			check(v !== DRIFTED, `${CORE} still at ${v}`);
			return `${CORE} ${v}`;
		}, GATE],
		[`Better Auth ${PINNED}'s migration planner finds nothing to create or change`, plannerIsClean],
		["sign-up, sign-in, session, update, password reset and sign-in again work", async (ctx) => {
			ctx.user = await flow(open(ctx));
		}],
		// The way back keeps Better Auth's rows: issuer filled as 1.7.0 did.
		[`dbreg down ${CORE} --to ${DRIFTED} keeps the user's account, issuer filled`, async (ctx) => {
			check(ctx.user, "no user from the flow");
			dbreg(["down", CORE, "--to", DRIFTED, "--target", ctx.target.url], ctx.dir);
			check(coreVersion(ctx) === DRIFTED, `${CORE} is not at ${DRIFTED}`);
			const rows = await open(ctx).rows(`SELECT "issuer", "provider_id" FROM "account" WHERE "user_id" = ?`, [ctx.user.id]);
			check(rows.length === 1 && rows[0].issuer === "local:credential", "account rows: " + JSON.stringify(rows));
		}, GATE],
		["dbreg apply again, and the user signs in with the new password", async (ctx) => {
			dbreg(["apply", "--target", ctx.target.url], ctx.dir);
			await plannerIsClean(ctx);
			await signIn(open(ctx), ctx.user);
		}],
	]));
}

function diag(text) {
	for (const line of redact(text).split("\n")) console.log("# " + line);
}

console.log(`1..${cases.length}`);
diag(`better-auth ${PINNED}, snake_case fields: ${JSON.stringify(FIELDS)}`);
let n = 0, failed = 0;
for (const c of cases) {
	n++;
	try {
		const note = await c.run();
		console.log(`ok ${n} - ${c.name}`);
		if (typeof note === "string" && note) diag(note);
	} catch (err) {
		if (err instanceof Skip) {
			console.log(`ok ${n} - ${c.name} # SKIP ${err.message}`);
		} else {
			failed++;
			console.log(`not ok ${n} - ${c.name}`);
			diag(err.name && err.name !== "Error" ? describe(err) + "\n" + err.stack : err.message || String(err));
		}
	}
}
for (const end of new Set(cases.map((c) => c.end))) {
	try {
		await end();
	} catch (err) {
		diag("cleanup: " + describe(err));
	}
}
process.exit(failed ? 1 : 0);
