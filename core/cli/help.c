/* Texts generated from the tables of commands and options: --help,
 * `dbreg help CMD`, the man page dbreg(1) and the bash completion, so all
 * four always say the same. Also "did you mean". The man page and the
 * completion are written at build time by the hidden commands __man and
 * __completion; __names lists package or target names for the completion. */
#include "cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define HELP_COLUMN 28   /* where the descriptions start */

static const char help_about[] =
	"dbreg validates package manifests, plans their migrations by dependency\n"
	"order, and applies them to SQLite or PostgreSQL.";

static const char help_exit_codes[] =
	"exit codes: 0 ok, 1 manifest or plan errors, 2 usage, 3 connection,\n"
	"4 migration failed (rolled back), 5 lock timeout, 6 verify found differences";

static const struct {
	int code;
	const char *meaning;
} help_exits[] = {
	{0, "success (warnings allowed)"},
	{1, "the manifests or the plan have errors; nothing was changed"},
	{2, "usage error"},
	{3, "cannot connect, or the target refused a statement outside a migration"},
	{4, "a migration failed; the target was rolled back to where it was"},
	{5, "timed out waiting for another run's lock"},
	{6, "verify found the database differs from the declared schema"},
};

/* "-v, --verbose", "--to PKG@VERSION", "-C DIR" */
static void help_option_left(char *buf, size_t size, const struct cli_option *o)
{
	bool short_only = strlen(o->name) == 1;
	if (short_only)
		snprintf(buf, size, "-%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
	else if (o->short_name)
		snprintf(buf, size, "-%c, --%s%s%s", o->short_name, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
	else
		snprintf(buf, size, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

static void help_row(FILE *fp, const char *left, const char *right)
{
	if (strlen(left) + 2 >= HELP_COLUMN)
		fprintf(fp, "  %s\n  %*s%s\n", left, HELP_COLUMN - 2, "", right);
	else
		fprintf(fp, "  %-*s%s\n", HELP_COLUMN - 2, left, right);
}

void cli_usage_line(FILE *fp, const struct cli_command *cmd)
{
	fprintf(fp, "usage: dbreg %s [options]%s%s\n", cmd->name, cmd->args && *cmd->args ? " " : "",
		cmd->args ? cmd->args : "");
}

void cli_help_main(FILE *fp)
{
	fprintf(fp, "usage: dbreg [options] COMMAND [ARGS]\n\n%s\n\ncommands:\n", help_about);
	for (const struct cli_command *const *c = cli_commands; *c; c++) {
		if ((*c)->hidden)
			continue;
		char left[80];
		snprintf(left, sizeof(left), "%s%s%s", (*c)->name, *(*c)->args ? " " : "", (*c)->args);
		help_row(fp, left, (*c)->summary);
	}
	fprintf(fp, "\noptions of every command:\n");
	for (const struct cli_option *o = cli_options; o->name; o++) {
		if (!o->common)
			continue;
		char left[80];
		help_option_left(left, sizeof(left), o);
		help_row(fp, left, o->help);
	}
	fprintf(fp, "\n'dbreg help COMMAND' or 'dbreg COMMAND --help' shows a command's own options.\n\n%s\n",
		help_exit_codes);
}

void cli_help_command(FILE *fp, const struct cli_command *cmd)
{
	cli_usage_line(fp, cmd);
	fprintf(fp, "\n%s\n", cmd->summary);
	if (cmd->help)
		fprintf(fp, "\n%s\n", cmd->help);
	if (cmd->options && cmd->options[0]) {
		fprintf(fp, "\noptions:\n");
		for (const char *const *n = cmd->options; *n; n++) {
			const struct cli_option *o = cli_option_find(*n);
			char left[80];
			help_option_left(left, sizeof(left), o);
			help_row(fp, left, o->help);
		}
	}
	fprintf(fp, "\noptions of every command:\n");
	for (const struct cli_option *o = cli_options; o->name; o++) {
		if (!o->common)
			continue;
		char left[80];
		help_option_left(left, sizeof(left), o);
		help_row(fp, left, o->help);
	}
	fprintf(fp, "\n%s\n", help_exit_codes);
}

/* ---- did you mean ---------------------------------------------------------- */

static size_t help_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return 99;
	size_t d[64][64];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			/* A swap of two neighbours is one mistake. */
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

const char *cli_suggest(const char *word, const char *const *candidates, size_t n)
{
	size_t len = strlen(word), best_d = 99;
	const char *best = NULL;
	size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
	for (size_t i = 0; i < n; i++) {
		size_t d = help_distance(word, candidates[i]);
		/* A prefix of two letters or more names what it starts. */
		if (len >= 2 && strncmp(word, candidates[i], len) == 0)
			d = 1;
		if (d <= limit && d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best;
}

/* ---- dbreg help [CMD] ------------------------------------------------------ */

/* Whether word is a lower-case word of a command's synopsis. */
static bool help_word_of(const char *args, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = args ? strstr(args, word) : NULL; n && p; p = strstr(p + 1, word))
		if ((p == args || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ') && islower((unsigned char)word[0]))
			return true;
	return false;
}

static int help_run(struct cli_session *s)
{
	if (s->n_args == 0) {
		cli_help_main(s->o.json ? stderr : stdout);
		return 0;
	}
	const struct cli_command *cmd = cli_command_find(s->args[0]);
	if (!cmd || cmd->hidden)
		return cli_unknown_command(s, "no command", s->args[0]);
	/* A second word is one of the command's own (new package). */
	if (s->n_args == 2 && !help_word_of(cmd->args, s->args[1]))
		return cmd->args && cmd->args[0]
			       ? cli_usage(s, "dbreg help %s: '%s' is none of its words (%s)", cmd->name, s->args[1], cmd->args)
			       : cli_usage(s, "dbreg help %s: unexpected argument '%s'", cmd->name, s->args[1]);
	cli_help_command(s->o.json ? stderr : stdout, cmd);
	return 0;
}

const struct cli_command cli_cmd_help = {
	.name = "help",
	.args = "[COMMAND]",
	.summary = "this list, or a command's usage and options",
	.max_args = 2,                 /* help new package: the command's words as its usage writes them */
	.complete_args = "commands",
	.run = help_run,
};

/* ---- dbreg(1) -------------------------------------------------------------- */

/* Text in roff: backslashes and dashes escaped, no line starting with a
 * control character. */
static void man_text(FILE *fp, const char *s)
{
	bool bol = true;
	for (; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", fp);
		bol = *s == '\n';
		if (*s == '\\')
			fputs("\\e", fp);
		else if (*s == '-')
			fputs("\\-", fp);
		else
			fputc(*s, fp);
	}
}

static void man_option(FILE *fp, const struct cli_option *o)
{
	char left[80];
	help_option_left(left, sizeof(left), o);
	fputs(".TP\n.B ", fp);
	man_text(fp, left);
	fputc('\n', fp);
	man_text(fp, o->help);
	fputc('\n', fp);
}

static int man_run(struct cli_session *s)
{
	FILE *fp = stdout;
	(void)s;
	fprintf(fp, ".TH DBREG 1 \"\" \"dbreg %s\" \"User Commands\"\n", DBREG_VERSION_STRING);
	fputs(".SH NAME\ndbreg \\- the package database registry: validate, plan and apply migrations\n", fp);
	fputs(".SH SYNOPSIS\n.B dbreg\n[\\fIoptions\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n.SH DESCRIPTION\n", fp);
	man_text(fp, help_about);
	fputs("\nEach command accepts the options of every command and its own; any other option is a\n"
	      "usage error (exit 2) that names the commands that take it.\n"
	      "File positions are printed relative to the current folder, whatever \\fB\\-C\\fR says.\n",
	      fp);
	fputs(".SH COMMANDS\n", fp);
	for (const struct cli_command *const *c = cli_commands; *c; c++) {
		const struct cli_command *cmd = *c;
		if (cmd->hidden)
			continue;
		fputs(".SS \"", fp);
		man_text(fp, cmd->name);
		if (*cmd->args) {
			fputc(' ', fp);
			man_text(fp, cmd->args);
		}
		fputs("\"\n", fp);
		man_text(fp, cmd->summary);
		fputs(".\n", fp);
		if (cmd->help) {
			fputs(".PP\n", fp);
			man_text(fp, cmd->help);
			fputc('\n', fp);
		}
		for (const char *const *n = cmd->options; n && *n; n++)
			man_option(fp, cli_option_find(*n));
	}
	fputs(".SH OPTIONS OF EVERY COMMAND\n", fp);
	for (const struct cli_option *o = cli_options; o->name; o++)
		if (o->common)
			man_option(fp, o);
	fputs(".SH ENVIRONMENT\n.TP\n.B DBREG_STATE\nthe state file, as \\fB\\-\\-state\\fR.\n"
	      ".TP\n.B NO_COLOR\nwhen set and not empty, no colour.\n"
	      ".TP\n.B DBREG_CHECK_BUDGET_MS\nthe time budget of the offline SQL checks in milliseconds (default 30000);\n"
	      "past it validation fails, naming it.\n", fp);
	fputs(".SH FILES\n.TP\n.B dbreg.toml\nthe project file: package folders, state file, targets.\n"
	      ".TP\n.B .dbreg/state.db\nthe local state file (mode 0600).\n", fp);
	fputs(".SH EXIT STATUS\n", fp);
	for (size_t i = 0; i < sizeof(help_exits) / sizeof(help_exits[0]); i++) {
		fprintf(fp, ".TP\n.B %d\n", help_exits[i].code);
		man_text(fp, help_exits[i].meaning);
		fputc('\n', fp);
	}
	fputs(".SH EXAMPLES\n.nf\ndbreg validate\ndbreg plan \\-\\-target prod\ndbreg init \\-\\-json\n.fi\n", fp);
	return 0;
}

const struct cli_command cli_cmd_man = {
	.name = "__man",
	.args = "",
	.summary = "write dbreg(1) on standard output",
	.run = man_run,
	.hidden = true,
};

/* ---- bash completion ------------------------------------------------------- */

static void completion_words(FILE *fp, const struct cli_command *cmd)
{
	bool first = true;
	for (const struct cli_option *o = cli_options; o->name; o++) {
		if (strlen(o->name) == 1 || !(o->common || (cmd && cli_command_takes(cmd, o))))
			continue;
		fprintf(fp, "%s--%s", first ? "" : " ", o->name);
		first = false;
	}
	for (const struct cli_option *o = cli_options; o->name; o++)
		if (o->short_name && (o->common || (cmd && cli_command_takes(cmd, o))))
			fprintf(fp, " -%c", o->short_name);
}

/* COMPREPLY for positional arguments that complete as `what` names. */
static void completion_args(FILE *fp, const char *what)
{
	if (strcmp(what, "commands") == 0)
		fputs("COMPREPLY=($(compgen -W \"$commands\" -- \"$cur\"))", fp);
	else
		fprintf(fp, "COMPREPLY=($(compgen -W \"$(dbreg -C \"$dir\" __names %s 2>/dev/null)\" -- \"$cur\"))", what);
}

/* The case of a $prev option whose argument is one of the words of arg
 * ("stop|continue"). */
static void completion_alternatives(FILE *fp, const char *arg)
{
	fputs("            COMPREPLY=($(compgen -W \"", fp);
	for (const char *p = arg; *p; p++)
		fputc(*p == '|' ? ' ' : *p, fp);
	fputs("\" -- \"$cur\")); return ;;\n", fp);
}

/* A command's first argument is one of words (cli_command.complete_words);
 * the arguments after a "word:what" complete as what names. */
static void completion_first_words(FILE *fp, const char *const *words)
{
	fputs("case $sub in\n            '') COMPREPLY=($(compgen -W \"", fp);
	for (const char *const *w = words; *w; w++)
		fprintf(fp, "%s%.*s", w == words ? "" : " ", (int)strcspn(*w, ":"), *w);
	fputs("\" -- \"$cur\")) ;;\n", fp);
	for (const char *const *w = words; *w; w++) {
		const char *what = strchr(*w, ':');
		if (!what)
			continue;
		fprintf(fp, "            %.*s) ", (int)(what - *w), *w);
		completion_args(fp, what + 1);
		fputs(" ;;\n", fp);
	}
	fputs("        esac ;;\n", fp);
}

static int completion_run(struct cli_session *s)
{
	FILE *fp = stdout;
	(void)s;
	fputs("# bash completion for dbreg, generated from its table of commands.\n"
	      "_dbreg()\n{\n"
	      "    local -a words\n"
	      "    local cword cur prev\n"
	      "    _dbreg_words\n"
	      "    local lead=${cur%\"${cur##*[@:=]}\"}\n"
	      "    _dbreg_complete\n"
	      "    # readline splits words at @, : and = (COMP_WORDBREAKS) and replaces only\n"
	      "    # what follows the last of them: the replies drop what comes before. An @\n"
	      "    # stays in the word it starts (bash's rl_special_prefixes), so not that.\n"
	      "    [[ $lead == *@ ]] && lead=${lead%@}\n"
	      "    [[ -n $lead && $COMP_WORDBREAKS == *\"${lead: -1}\"* ]] && COMPREPLY=(\"${COMPREPLY[@]#\"$lead\"}\")\n"
	      "}\n"
	      "# The words as the shell splits them, at blanks only: @ydtb/basic is one\n"
	      "# word, as dbreg reads it (bash's COMP_WORDS splits it at @).\n"
	      "_dbreg_words()\n{\n"
	      "    if [[ -n ${COMP_LINE+set} ]]; then\n"
	      "        local line=${COMP_LINE:0:COMP_POINT}\n"
	      "        read -ra words <<< \"$line\"\n"
	      "        [[ $line == *[[:space:]] || ${#words[@]} -eq 0 ]] && words+=(\"\")\n"
	      "    else\n"
	      "        words=(\"${COMP_WORDS[@]:0:COMP_CWORD+1}\")\n"
	      "    fi\n"
	      "    cword=$((${#words[@]} - 1))\n"
	      "    cur=${words[cword]} prev=${words[cword-1]}\n"
	      "}\n"
	      "_dbreg_complete()\n{\n"
	      "    local cmd='' sub='' dir=. i\n"
	      "    for ((i = 1; i < cword; i++)); do\n"
	      "        case ${words[i]} in\n", fp);
	/* Options that take an argument skip it. */
	fputs("            ", fp);
	bool first = true;
	for (const struct cli_option *o = cli_options; o->name; o++) {
		if (!o->arg)
			continue;
		if (strlen(o->name) == 1)
			fprintf(fp, "%s-%s", first ? "" : "|", o->name);
		else
			fprintf(fp, "%s--%s", first ? "" : "|", o->name);
		if (o->short_name && strlen(o->name) > 1)
			fprintf(fp, "|-%c", o->short_name);
		first = false;
	}
	fputs(")\n"
	      "                [[ ${words[i]} == -C ]] && dir=${words[i+1]}\n"
	      "                ((i++)) ;;\n"
	      "            -*) ;;\n"
	      "            *) if [[ -z $cmd ]]; then cmd=${words[i]}; elif [[ -z $sub ]]; then sub=${words[i]}; fi ;;\n"
	      "        esac\n"
	      "    done\n"
	      "    case $prev in\n", fp);
	for (const struct cli_option *o = cli_options; o->name; o++) {
		if (!o->arg)
			continue;
		if (strlen(o->name) == 1)
			fprintf(fp, "        -%s)\n", o->name);
		else if (o->short_name)
			fprintf(fp, "        --%s|-%c)\n", o->name, o->short_name);
		else
			fprintf(fp, "        --%s)\n", o->name);
		const char *c = o->complete ? o->complete : "";
		if (strcmp(c, "dirs") == 0)
			fputs("            COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n", fp);
		else if (strcmp(c, "files") == 0)
			fputs("            COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", fp);
		else if (strcmp(c, "targets") == 0 || strcmp(c, "packages") == 0 || strcmp(c, "fleets") == 0)
			fprintf(fp, "            COMPREPLY=($(compgen -W \"$(dbreg -C \"$dir\" __names %s 2>/dev/null)\" -- \"$cur\"));"
				    " return ;;\n", c);
		else if (strchr(o->arg, '|'))
			completion_alternatives(fp, o->arg);
		else
			fputs("            COMPREPLY=(); return ;;\n", fp);
	}
	fputs("    esac\n"
	      "    if [[ $cur == -* ]]; then\n"
	      "        case $cmd in\n", fp);
	for (const struct cli_command *const *c = cli_commands; *c; c++) {
		if ((*c)->hidden)
			continue;
		fprintf(fp, "            %s) COMPREPLY=($(compgen -W \"", (*c)->name);
		completion_words(fp, *c);
		fputs("\" -- \"$cur\")) ;;\n", fp);
	}
	fputs("            *) COMPREPLY=($(compgen -W \"", fp);
	completion_words(fp, NULL);
	fputs("\" -- \"$cur\")) ;;\n"
	      "        esac\n"
	      "        return\n"
	      "    fi\n"
	      "    local commands=\"", fp);
	first = true;
	for (const struct cli_command *const *c = cli_commands; *c; c++) {
		if ((*c)->hidden)
			continue;
		fprintf(fp, "%s%s", first ? "" : " ", (*c)->name);
		first = false;
	}
	fputs("\"\n"
	      "    if [[ -z $cmd ]]; then\n"
	      "        COMPREPLY=($(compgen -W \"$commands\" -- \"$cur\"))\n"
	      "        return\n"
	      "    fi\n"
	      "    case $cmd in\n", fp);
	for (const struct cli_command *const *c = cli_commands; *c; c++) {
		const char *a = (*c)->complete_args;
		if ((*c)->hidden || (!a && !(*c)->complete_words))
			continue;
		fprintf(fp, "        %s) ", (*c)->name);
		if ((*c)->complete_words) {
			completion_first_words(fp, (*c)->complete_words);
			continue;
		}
		completion_args(fp, a);
		fputs(" ;;\n", fp);
	}
	fputs("    esac\n}\ncomplete -F _dbreg dbreg\n", fp);
	/* _dbreg sets the words, cword, cur and prev that _dbreg_complete reads. */
	return 0;
}

const struct cli_command cli_cmd_completion = {
	.name = "__completion",
	.args = "",
	.summary = "write the bash completion script on standard output",
	.run = completion_run,
	.hidden = true,
};

/* Package, target or fleet names of the project, one a line. */
static int names_run(struct cli_session *s)
{
	if (strcmp(s->args[0], "packages") == 0) {
		for (size_t i = 0; i < dbreg_registry_package_count(s->reg); i++)
			printf("%s\n", dbreg_registry_package_name(s->reg, i));
	} else if (strcmp(s->args[0], "targets") == 0) {
		for (size_t i = 0; i < s->proj->n_targets; i++)
			printf("%s\n", s->proj->targets[i].name);
	} else if (strcmp(s->args[0], "fleets") == 0) {
		for (size_t i = 0; i < s->proj->n_fleets; i++)
			printf("%s\n", s->proj->fleets[i].name);
	} else {
		return cli_usage(s, "__names takes packages, targets or fleets");
	}
	return 0;
}

const struct cli_command cli_cmd_packages = {
	.name = "__names",
	.args = "packages|targets|fleets",
	.summary = "the project's package, target or fleet names, one a line",
	.needs = CLI_NEEDS_REGISTRY,
	.min_args = 1,
	.max_args = 1,
	.run = names_run,
	.hidden = true,
};
