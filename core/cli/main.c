/* dbreg's entry point: parses the command line against the tables
 * (commands.c, options.c), opens the session the command needs, runs it,
 * and maps its library code to the exit code. With --json, standard output
 * gets exactly one document whatever happens, usage errors included: the
 * command's keys, then ok, exit_code, error and diagnostics (cli.md). */
#include "cli.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define MAIN_FREE_AT_EXIT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MAIN_FREE_AT_EXIT 1
#endif
#endif
#ifndef MAIN_FREE_AT_EXIT
#define MAIN_FREE_AT_EXIT 0
#endif

struct seen_opt {
	const struct cli_option *opt;
	const char *arg;
};

/* The long names of the options `cmd` takes (all options when NULL). */
static size_t main_option_names(const struct cli_command *cmd, const char **names, size_t cap)
{
	size_t n = 0;
	for (const struct cli_option *o = cli_options; o->name && n < cap; o++)
		if (strlen(o->name) > 1 && (!cmd || cli_command_takes(cmd, o)))
			names[n++] = o->name;
	return n;
}

/* "unknown option '--sqll'; did you mean '--sql'?" */
static int main_unknown_option(struct cli_session *s, const char *spelled, const struct cli_command *cmd)
{
	const char *names[128];
	size_t n = main_option_names(cmd, names, 128);
	const char *word = spelled + (spelled[1] == '-' ? 2 : 1);
	char bare[64];
	snprintf(bare, sizeof(bare), "%.*s", (int)strcspn(word, "="), word);
	const char *best = cli_suggest(bare, names, n);
	if (best)
		return cli_usage(s, "unknown option '%s'; did you mean '--%s'?", spelled, best);
	return cli_usage(s, "unknown option '%s'", spelled);
}

/* "apply does not take --sql (plan takes it)". */
static int main_not_taken(struct cli_session *s, const struct cli_command *cmd, const struct cli_option *o)
{
	char who[256] = "";
	size_t n = 0, len = 0;
	for (const struct cli_command *const *c = cli_commands; *c; c++) {
		if ((*c)->hidden || !cli_command_takes(*c, o))
			continue;
		len += (size_t)snprintf(who + len, len < sizeof(who) ? sizeof(who) - len : 0, "%s%s",
					n++ ? ", " : "", (*c)->name);
		if (len >= sizeof(who))
			len = sizeof(who) - 1;
	}
	if (strlen(o->name) == 1)
		return cli_usage(s, "%s does not take -%s (%s %s it)", cmd->name, o->name, who, n == 1 ? "takes" : "take");
	return cli_usage(s, "%s does not take --%s (%s %s it)", cmd->name, o->name, who, n == 1 ? "takes" : "take");
}

static const struct cli_option *main_short(char c)
{
	for (const struct cli_option *o = cli_options; o->name; o++)
		if (o->short_name == c)
			return o;
	return NULL;
}

static const struct cli_option *main_long(const char *name, size_t len)
{
	for (const struct cli_option *o = cli_options; o->name; o++)
		if (strlen(o->name) > 1 && strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

/* Parses argv, finds the command and checks its options and arguments.
 * Returns 1 to run the command, 0 when done (--help, --version), or a
 * negative code for a usage error (already reported). */
static int main_parse(struct cli_session *s, int argc, char **argv)
{
	static struct seen_opt seen[256];
	size_t n_seen = 0;
	const char *name = NULL, *unknown = NULL, *problem = NULL;
	const struct cli_option *problem_opt = NULL;
	bool version = false, only_args = false;

	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (only_args || a[0] != '-' || a[1] == '\0') {
			if (!name)
				name = a;
			else if (s->n_args < CLI_MAX_ARGS)
				s->args[s->n_args++] = a;
			else if (!problem)
				problem = "too many arguments";
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_args = true;
			continue;
		}
		/* Short options may be bundled (-vq) and take their argument
		 * attached (-Cdir) or as the next word. */
		for (size_t k = 1; a[k]; k++) {
			const struct cli_option *o;
			const char *value = NULL;
			bool is_long = a[1] == '-';
			if (is_long) {
				size_t len = strcspn(a + 2, "=");
				o = main_long(a + 2, len);
				if (o && o->arg)
					value = a[2 + len] == '=' ? a + 3 + len : NULL;
				else if (o && a[2 + len] == '=' && !problem) {
					problem = "takes no argument";
					problem_opt = o;
				}
			} else {
				o = main_short(a[k]);
				if (o && o->arg && a[k + 1])
					value = a + k + 1;
			}
			if (!o) {
				if (!unknown)
					unknown = a;
				break;
			}
			if (o->arg && !value) {
				if (i + 1 < argc) {
					value = argv[++i];
				} else if (!problem) {
					problem = "needs an argument";
					problem_opt = o;
				}
			}
			if (o == cli_option_find("version"))
				version = true;
			else if (n_seen < sizeof(seen) / sizeof(seen[0]))
				seen[n_seen++] = (struct seen_opt){o, value};
			if (is_long || (o->arg && value))
				break;
		}
	}
	if (version) {
		/* With --json the document says it; the text goes to stderr. */
		if (s->o.json) {
			cli_json_key(s, "version");
			dbreg_json_str(s->out, DBREG_VERSION_STRING);
		}
		fprintf(s->o.json ? stderr : stdout, "dbreg %s\n", DBREG_VERSION_STRING);
		return 0;
	}
	const struct cli_command *cmd = NULL;
	if (name && !(cmd = cli_command_find(name)))
		return cli_unknown_command(s, "unknown command", name);
	s->cmd = cmd;
	if (unknown)
		return main_unknown_option(s, unknown, cmd);
	if (problem_opt) {
		if (strlen(problem_opt->name) == 1)
			return cli_usage(s, "-%s %s %s", problem_opt->name, problem, problem_opt->arg ? problem_opt->arg : "");
		if (problem_opt->arg) {
			/* A command whose usage spells the option (down: "PKG --to
			 * VERSION") takes that argument, not the common one. */
			char own[64];
			const char *arg = problem_opt->arg;
			snprintf(own, sizeof own, "--%s ", problem_opt->name);
			const char *at = s->cmd && s->cmd->args ? strstr(s->cmd->args, own) : NULL;
			if (at) {
				at += strlen(own);
				snprintf(own, sizeof own, "%.*s", (int)strcspn(at, " ]"), at);
				arg = own;
			}
			return cli_usage(s, "--%s %s %s", problem_opt->name, problem, arg);
		}
		return cli_usage(s, "--%s %s", problem_opt->name, problem);
	}
	if (problem)
		return cli_usage(s, "%s", problem);
	for (size_t i = 0; i < n_seen; i++) {
		if (cmd && !cli_command_takes(cmd, seen[i].opt))
			return main_not_taken(s, cmd, seen[i].opt);
		int rc = seen[i].opt->set ? seen[i].opt->set(s, seen[i].opt, seen[i].arg) : 0;
		if (rc < 0)
			return rc;
	}
	if (!cmd) {
		if (s->o.help) {
			cli_help_main(s->o.json ? stderr : stdout);
			return 0;
		}
		cli_help_main(stderr);
		return cli_usage(s, "no command given");
	}
	if (s->o.help) {
		/* stdout holds only the document with --json. */
		cli_help_command(s->o.json ? stderr : stdout, cmd);
		return 0;
	}
	if (s->n_args < cmd->min_args || s->n_args > cmd->max_args) {
		if (s->n_args > cmd->max_args && cmd->max_args == 0)
			return cli_usage(s, "%s takes no arguments (unexpected '%s')", cmd->name, s->args[0]);
		if (s->n_args > cmd->max_args)
			return cli_usage(s, "unexpected argument '%s'", s->args[cmd->max_args]);
		return cli_usage(s, "%s needs %s", cmd->name, cmd->args);
	}
	return 1;
}

/* The default message of a failure no command described. */
static const char *main_default_message(int rc)
{
	switch (rc) {
	case DBREG_EINVALID: return "the manifests or the plan have errors; nothing was changed";
	case DBREG_EUSAGE: return "usage error";
	case DBREG_ECONNECT: return "cannot connect to the target";
	case DBREG_EMIGRATION: return "a migration failed; the target was rolled back";
	case DBREG_ELOCKED: return "timed out waiting for another run's lock";
	case DBREG_EVERIFY: return "the database differs from the declared schema";
	case DBREG_ENOMEM: return "out of memory";
	default: return "a file could not be read or written";
	}
}

/* The document: the command's keys, then ok, exit_code, error, diagnostics.
 * A command that streams NDJSON (watch) gets its failure on one line too:
 * a raw newline is never inside a JSON string, so each one (and the indent
 * after it) is layout that a space can replace. */
static void main_json_finish(struct cli_session *s, const char *body, size_t len, int rc)
{
	char *doc = NULL;
	size_t doc_len = 0;
	bool one_line = s->cmd && s->cmd->streams_json;
	FILE *fp = one_line ? open_memstream(&doc, &doc_len) : NULL;
	FILE *out = fp ? fp : stdout;
	fputs("{\n", out);
	fwrite(body, 1, len, out);
	int code = s->exit_code ? s->exit_code : cli_exit_code(rc);
	fprintf(out, "%s  \"ok\": %s,\n  \"exit_code\": %d,\n  \"error\": ", s->json_keys ? ",\n" : "",
		code == 0 ? "true" : "false", code);
	if (code == 0)
		fputs("null", out);
	else
		cli_json_error(out, &s->error, main_default_message(rc));
	fputs(",\n  \"diagnostics\": ", out);
	dbreg_diag_list_json(out, cli_diags(s));
	fputs("\n}\n", out);
	if (!fp)
		return;
	fclose(fp);
	for (size_t i = 0; doc && i < doc_len; i++) {
		if (doc[i] != '\n' || i + 1 == doc_len) {
			putchar(doc[i]);
			continue;
		}
		char before = i > 0 ? doc[i - 1] : '{';
		while (i + 1 < doc_len && doc[i + 1] == ' ')
			i++;
		char after = i + 1 < doc_len ? doc[i + 1] : '}';
		if (before != '{' && before != '[' && after != '}' && after != ']')
			putchar(' ');
	}
	free(doc);
}

/* SIGINT and SIGTERM during a run. First the databases are asked to stop
 * the running statements (dbreg_cancel_all), so that a PostgreSQL server
 * rolls back and frees the registry lock now, not when the statement would
 * have ended; then the process ends, closing the connections. With --json
 * the run's one document is still written: nothing of it reached stdout
 * before main_json_finish (the keys are held in memory), so the handler
 * writes a whole failure document of its own with write(2) and exits as the
 * signal would have: the run's keys that cli_signal_keys rendered before it
 * started and what it committed (or a fleet's keys and targets as far as
 * each got: cli_signal_writer), and this failure; without, the signal's
 * default action ends the process, so the exit status stays the signal's. */
#define MAIN_SIGNAL_DOC(code, name, what)                                                                \
	"  \"ok\": false,\n  \"exit_code\": " #code ",\n  \"error\": {\"message\": \"interrupted by " name   \
	" before the run ended; " what "\", \"detail\": null, "                                            \
	"\"hint\": null, \"sqlstate\": null, \"file\": null, \"line\": null, \"column\": null, "           \
	"\"package\": null, \"migration\": null, \"statement\": null},\n  \"diagnostics\": "
#define MAIN_CANCELLED                                                                                   \
	"the running statements are cancelled and the connections closed, so the database rolls back the " \
	"open transaction"
#define MAIN_NOT_CANCELLED                                                                               \
	"its connections are closed, so the database rolls back the open transaction (a PostgreSQL "       \
	"server once its running statement ends: the cancel request could not be sent)"
#define MAIN_NOT_CONNECTED "no connection to a database was open, so no statement was running"
/* Without --json, the same words on stderr: the run said nothing else. */
#define MAIN_SIGNAL_SAYS(name, what) "dbreg: interrupted by " name " before the run ended; " what "\n"
/* A transaction = false migration was running: its statement rolls back,
 * the ones before it stay (dbreg_cancel_outside_transaction). */
#define MAIN_OUTSIDE                                                                                     \
	"; a transaction = false migration was running: the statements it completed stay applied and "    \
	"recorded, and the next run resumes after them"
enum main_outcome { MAIN_OUT_CANCELLED, MAIN_OUT_NOT_CANCELLED, MAIN_OUT_NOT_CONNECTED };
static const char *const main_docs_outside[2][2] = {
	{MAIN_SIGNAL_DOC(130, "SIGINT", MAIN_CANCELLED MAIN_OUTSIDE),
	 MAIN_SIGNAL_DOC(130, "SIGINT", MAIN_NOT_CANCELLED MAIN_OUTSIDE)},
	{MAIN_SIGNAL_DOC(143, "SIGTERM", MAIN_CANCELLED MAIN_OUTSIDE),
	 MAIN_SIGNAL_DOC(143, "SIGTERM", MAIN_NOT_CANCELLED MAIN_OUTSIDE)},
};
static const char *const main_says_outside[2][2] = {
	{MAIN_SIGNAL_SAYS("SIGINT", MAIN_CANCELLED MAIN_OUTSIDE), MAIN_SIGNAL_SAYS("SIGINT", MAIN_NOT_CANCELLED MAIN_OUTSIDE)},
	{MAIN_SIGNAL_SAYS("SIGTERM", MAIN_CANCELLED MAIN_OUTSIDE),
	 MAIN_SIGNAL_SAYS("SIGTERM", MAIN_NOT_CANCELLED MAIN_OUTSIDE)},
};
static const char *const main_docs[2][3] = {
	{MAIN_SIGNAL_DOC(130, "SIGINT", MAIN_CANCELLED), MAIN_SIGNAL_DOC(130, "SIGINT", MAIN_NOT_CANCELLED),
	 MAIN_SIGNAL_DOC(130, "SIGINT", MAIN_NOT_CONNECTED)},
	{MAIN_SIGNAL_DOC(143, "SIGTERM", MAIN_CANCELLED), MAIN_SIGNAL_DOC(143, "SIGTERM", MAIN_NOT_CANCELLED),
	 MAIN_SIGNAL_DOC(143, "SIGTERM", MAIN_NOT_CONNECTED)},
};
static const char *const main_says[2][3] = {
	{MAIN_SIGNAL_SAYS("SIGINT", MAIN_CANCELLED), MAIN_SIGNAL_SAYS("SIGINT", MAIN_NOT_CANCELLED),
	 MAIN_SIGNAL_SAYS("SIGINT", MAIN_NOT_CONNECTED)},
	{MAIN_SIGNAL_SAYS("SIGTERM", MAIN_CANCELLED), MAIN_SIGNAL_SAYS("SIGTERM", MAIN_NOT_CANCELLED),
	 MAIN_SIGNAL_SAYS("SIGTERM", MAIN_NOT_CONNECTED)},
};

/* dbreg_cancel_all bounds its own wait; this alarm is the backstop for a
 * cancel sent in the process itself (no child could be made), which a
 * server that went away would hold for the TCP connect timeout: minutes. */
#define MAIN_CANCEL_WAIT_S (DBREG_CANCEL_WAIT_MS / 1000 + 1)

static volatile sig_atomic_t main_json_mode;   /* set before the handlers are */
/* A run's keys and diagnostics (cli_signal_keys): written once, before the
 * run, and never changed or freed after, so a handler may read them; or
 * the function that writes the keys (cli_signal_writer). */
static _Atomic(char *) main_signal_keys, main_signal_diags;
static _Atomic(void (*)(void)) main_signal_writer;
static volatile sig_atomic_t main_signal;      /* the one being handled, for the alarm */
/* A run that unwinds (dbreg_cancel_unwinds) after this signal: what the
 * handler found when it came, for cli_signal_unwound. */
static volatile sig_atomic_t main_deferred, main_deferred_how, main_deferred_outside;
static atomic_bool main_ending;
static atomic_flag main_armed = ATOMIC_FLAG_INIT;

/* Writes text to fd, waiting out a full or non-blocking pipe. */
static void main_write_all(int fd, const char *doc)
{
	size_t n = strlen(doc);
	while (n > 0) {
		ssize_t w = write(fd, doc, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			if (poll(&p, 1, -1) < 0 && errno != EINTR)
				break;
			continue;
		}
		if (w <= 0)
			break;
		doc += w;
		n -= (size_t)w;
	}
}

void cli_signal_write(const char *text)
{
	main_write_all(STDOUT_FILENO, text);
}

const char *cli_signal_digits(char buf[24], unsigned long long n)
{
	char *p = buf + 23;
	*p = '\0';
	do
		*--p = (char)('0' + n % 10);
	while ((n /= 10) > 0);
	return p;
}

/* Ends the process for sig, once: a handler on another thread (or the
 * alarm's, or a run that unwound) that gets here second waits for the
 * first one's end. outside: a transaction = false migration was running
 * when the signal came. */
static void main_end(int sig, enum main_outcome how, bool outside)
{
	if (atomic_exchange(&main_ending, true))
		for (;;)
			pause();
	outside = outside && how != MAIN_OUT_NOT_CONNECTED;
	if (main_json_mode) {
		const char *keys = atomic_load(&main_signal_keys), *diags = atomic_load(&main_signal_diags);
		void (*writer)(void) = atomic_load(&main_signal_writer);
		main_write_all(STDOUT_FILENO, "{\n");
		if (writer) {
			writer();
		} else if (keys) {
			char num[24];
			main_write_all(STDOUT_FILENO, keys);
			main_write_all(STDOUT_FILENO, ",\n  \"applied\": ");
			main_write_all(STDOUT_FILENO, cli_signal_digits(num, dbreg_cancel_committed()));
			main_write_all(STDOUT_FILENO, ",\n");
		}
		main_write_all(STDOUT_FILENO, outside ? main_docs_outside[sig != SIGINT][how] : main_docs[sig != SIGINT][how]);
		main_write_all(STDOUT_FILENO, diags ? diags : "[]");
		main_write_all(STDOUT_FILENO, "\n}\n");
		_exit(sig == SIGINT ? 130 : 143);
	}
	main_write_all(STDERR_FILENO, outside ? main_says_outside[sig != SIGINT][how] : main_says[sig != SIGINT][how]);
	/* What a split run (or one ended after its commit) keeps: the JSON
	 * document's "applied", said here in words. */
	unsigned long long kept = how == MAIN_OUT_NOT_CONNECTED ? 0 : dbreg_cancel_committed();
	if (kept) {
		char num[24];
		main_write_all(STDERR_FILENO, "  ");
		main_write_all(STDERR_FILENO, cli_signal_digits(num, kept));
		main_write_all(STDERR_FILENO, kept == 1 ? " migration committed before it stays applied\n"
							: " migrations committed before it stay applied\n");
	}
	/* The other signal, if it came meanwhile, is discarded (ignoring a
	 * pending signal drops it), so that it cannot decide the status. */
	struct sigaction dfl = {0}, ign = {0};
	dfl.sa_handler = SIG_DFL;
	ign.sa_handler = SIG_IGN;
	int other = sig == SIGINT ? SIGTERM : SIGINT;
	struct sigaction cur;
	if (sigaction(other, NULL, &cur) == 0 && cur.sa_handler != SIG_IGN) {
		sigaction(other, &ign, NULL);
		sigaction(other, &dfl, NULL);
	}
	sigaction(sig, &dfl, NULL);
	/* sig is blocked while its handler runs: unblocked, it ends us here. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	raise(sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	_exit(128 + sig);
}

/* Both signals are in its sa_mask, so a SIGTERM after a SIGINT waits for
 * the end and never writes a second document. Only async-signal-safe
 * calls. */
static void main_on_signal(int sig)
{
	main_signal = sig;
	/* Armed once and never cleared: a second handler (on another thread)
	 * neither moves the first one's bound nor takes it away. */
	if (!atomic_flag_test_and_set(&main_armed))
		alarm(MAIN_CANCEL_WAIT_S);
	bool outside = dbreg_cancel_outside_transaction() > 0;
	int open = 0, failed = dbreg_cancel_all(&open);
	enum main_outcome how = failed ? MAIN_OUT_NOT_CANCELLED : open ? MAIN_OUT_CANCELLED : MAIN_OUT_NOT_CONNECTED;
	/* A run that can tell what it committed rolls back, records it with
	 * its mark and ends itself (cli_signal_unwound), within the alarm's
	 * bound. Not when a cancel could not be sent (its statement runs on:
	 * the run would only wait for the alarm), nor for a second signal. */
	if (dbreg_cancel_unwinds() && !main_deferred && !failed) {
		main_deferred_how = how;
		main_deferred_outside = outside;
		main_deferred = sig;
		return;
	}
	main_end(sig, how, outside);
}

void cli_signal_unwound(void)
{
	int sig = main_deferred;
	if (sig)
		main_end(sig, (enum main_outcome)main_deferred_how, main_deferred_outside);
}

bool cli_signal_deferred(void)
{
	return main_deferred != 0;
}

/* The diagnostics so far, for the handler; NULL when out of memory. */
static char *main_signal_diags_now(struct cli_session *s)
{
	char *diags = NULL;
	size_t n_diags = 0;
	FILE *fp = open_memstream(&diags, &n_diags);
	if (fp) {
		dbreg_diag_list_json(fp, cli_diags(s));
		fclose(fp);
	}
	return diags;
}

static void main_print_plan(struct cli_session *s, const void *plan)
{
	cli_print_plan(s, plan);
}

void cli_signal_keys(struct cli_session *s, const struct dbreg_plan *plan)
{
	if (!s->o.json || atomic_load(&main_signal_keys) || atomic_load(&main_signal_writer))
		return;
	char *keys = cli_json_keys_text(s, main_print_plan, plan);
	if (!keys)
		return;
	atomic_store(&main_signal_diags, main_signal_diags_now(s));
	atomic_store(&main_signal_keys, keys);
}

void cli_signal_writer(struct cli_session *s, void (*keys)(void))
{
	if (!s->o.json || atomic_load(&main_signal_keys) || atomic_load(&main_signal_writer))
		return;
	atomic_store(&main_signal_diags, main_signal_diags_now(s));
	atomic_store(&main_signal_writer, keys);
}

/* Late, when a handler already writes the document or ends the process:
 * then it is left to finish (it may be this thread's). A run that did not
 * unwind in time (a wait no interrupt reaches) ends as its signal found
 * it, its mark left: what it committed is not known. */
static void main_on_alarm(int sig)
{
	(void)sig;
	if (atomic_load(&main_ending))
		return;
	if (main_deferred)
		main_end(main_deferred, (enum main_outcome)main_deferred_how, main_deferred_outside);
	main_end(main_signal, MAIN_OUT_NOT_CANCELLED, dbreg_cancel_outside_transaction() > 0);
}

/* install: the handler above for SIGINT and SIGTERM (not for one the
 * caller ignores, as nohup does), and the alarm that bounds its cancels.
 * Else, with --json, what was there before, with both blocked while the
 * real document is written (a signal then ends the process after it, not
 * in the middle); without --json the handler stays to the end. */
static void main_signals(bool install, bool json, sigset_t *blocked)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGALRM};
	static struct sigaction before[3];
	if (!install) {
		sigemptyset(blocked);
		sigaddset(blocked, SIGINT);
		sigaddset(blocked, SIGTERM);
		sigprocmask(SIG_BLOCK, blocked, NULL);
	}
	main_json_mode = json;
	for (size_t i = 0; i < 3; i++) {
		if (!install) {
			sigaction(sigs[i], &before[i], NULL);
			continue;
		}
		struct sigaction sa = {0};
		sigemptyset(&sa.sa_mask);
		sigaddset(&sa.sa_mask, SIGINT);
		sigaddset(&sa.sa_mask, SIGTERM);
		sa.sa_handler = sigs[i] == SIGALRM ? main_on_alarm : main_on_signal;
		if (sigaction(sigs[i], NULL, &before[i]) == 0 && (sigs[i] == SIGALRM || before[i].sa_handler != SIG_IGN))
			sigaction(sigs[i], &sa, NULL);
	}
}

/* A SIGINT or SIGTERM that came while the real document was written: the
 * run had ended and the document says how, so the exit status is the
 * document's, not the signal's (review-7 #6). Ignoring a pending signal
 * discards it (POSIX sigaction); the action before is put back after. */
static void main_json_drop_pending(void)
{
	static const int sigs[] = {SIGINT, SIGTERM};
	sigset_t pending;
	if (sigpending(&pending) != 0)
		return;
	for (size_t i = 0; i < 2; i++) {
		if (sigismember(&pending, sigs[i]) != 1)
			continue;
		struct sigaction ign = {0}, prev;
		ign.sa_handler = SIG_IGN;
		sigemptyset(&ign.sa_mask);
		if (sigaction(sigs[i], &ign, &prev) == 0)
			sigaction(sigs[i], &prev, NULL);
	}
}

/* Output that did not reach its file (a full disk, a closed descriptor)
 * is no success: a script would take a truncated plan --sql for the whole
 * one. Said, and never exit 0, as coreutils do. */
static int main_close_stdout(int code)
{
	bool failed = ferror(stdout) != 0;
	errno = 0;
	if (fclose(stdout) != 0)
		failed = true;
	if (!failed)
		return code;
	fprintf(stderr, "dbreg: cannot write to standard output%s%s\n", errno ? ": " : "", errno ? strerror(errno) : "");
	return code ? code : 1;
}

int main(int argc, char **argv)
{
	struct cli_session s = {
		.o = {.dir = ".", .lock_timeout = 60, .wait = 30},
		.out = stdout,
		.err = stderr,
		.project_diags = DBREG_DIAG_LIST_INIT,
		.command_diags = DBREG_DIAG_LIST_INIT,
	};
	/* --json is known before anything can fail, so that a usage error is
	 * a document too. */
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--json") == 0)
			s.o.json = true;
	char *body = NULL;
	size_t len = 0;
	if (s.o.json && !(s.out = open_memstream(&body, &len))) {
		fputs("dbreg: out of memory\n", stderr);
		return 1;
	}
	int rc = main_parse(&s, argc, argv);
	bool streamed = rc == 1 && s.o.json && s.cmd->streams_json;
	if (streamed) {
		/* Its documents go straight out, one a line. */
		fclose(s.out);
		free(body);
		body = NULL;
		len = 0;
		s.out = stdout;
	}
	/* watch --json streams its own documents and takes the signals itself. */
	bool guarded = s.o.json && !streamed;
	sigset_t blocked;
	main_signals(true, guarded, &blocked);
	if (rc == 1) {
		const char *nc = getenv("NO_COLOR");
		s.tty = isatty(fileno(stderr));
		s.color = !s.o.no_color && !(nc && *nc) && !s.o.json && s.tty;
		if (!s.o.state && getenv("DBREG_STATE") && *getenv("DBREG_STATE"))
			s.o.state = getenv("DBREG_STATE");
		/* A database another run holds is waited for as its lock is. */
		dbreg_target_set_lock_wait(s.o.lock_timeout < 0 ? 0 : s.o.lock_timeout);
		if (s.cmd->shortcut && s.cmd->shortcut(&s))
			rc = 0;
		else if ((rc = cli_session_open(&s, s.cmd->needs)) == 0)
			rc = s.cmd->run(&s);
		/* SQL checks beside the command failed: their report, not its. */
		rc = cli_checks_wait(&s, rc);
		if (rc > 0)
			rc = 0;
	}
	if (guarded) {
		main_signals(false, true, &blocked);
		fclose(s.out);
		main_json_finish(&s, body, len, rc);
		fflush(stdout);
		free(body);
		main_json_drop_pending();
		sigprocmask(SIG_UNBLOCK, &blocked, NULL);
	} else if (streamed && rc < 0) {
		main_json_finish(&s, "", 0, rc);
	}
	int code = s.exit_code ? s.exit_code : cli_exit_code(rc);
	/* A large registry is a million small blocks (15 ms of free() for a
	 * thousand packages) that the exit right after this returns at once.
	 * Under AddressSanitizer, whose leak check wants every block freed by
	 * its owner, they are freed one by one as everything else is. */
#if !MAIN_FREE_AT_EXIT
	s.reg = NULL;
#endif
	cli_session_close(&s);
	return main_close_stdout(code);
}
