/* dbreg validate: every manifest and the SQL of every migration; prints the
 * diagnostics; exit 0, or 1 when any error. */
#include "cli.h"

static int validate_run(struct cli_session *s)
{
	struct dbreg_validate_opts vopts = {.skip_sql = false};
	int rc = dbreg_registry_validate(s->reg, &vopts);
	if (rc < 0 && rc != DBREG_EINVALID) {
		cli_fail(s, "%s", dbreg_registry_errmsg(s->reg));
		return rc;
	}
	const struct dbreg_diag_list *diags = dbreg_registry_diags(s->reg);
	size_t packages = dbreg_registry_package_count(s->reg);
	/* With --json the document's diagnostics say it all. */
	if (!s->o.json) {
		cli_print_diags(s, diags);
		if (!s->o.quiet)
			fprintf(s->err, "%zu package%s, %zu error%s, %zu warning%s\n", packages,
				packages == 1 ? "" : "s", diags->errors, diags->errors == 1 ? "" : "s",
				diags->warnings, diags->warnings == 1 ? "" : "s");
	}
	if (diags->errors)
		cli_error_set(s, "%zu error%s in the manifests of %zu package%s", diags->errors,
			      diags->errors == 1 ? "" : "s", packages, packages == 1 ? "" : "s");
	return diags->errors ? DBREG_EINVALID : 0;
}

const struct cli_command cli_cmd_validate = {
	.name = "validate",
	.args = "",
	.summary = "parse and validate every manifest and the SQL of every migration",
	.help = "Reads every manifest under the package folders of dbreg.toml (default tomls/), checks\n"
		"declarations, dependencies and the SQL of every migration, and prints the findings\n"
		"as FILE:LINE:COLUMN: severity[CODE]: message (hint: ...). Exit 1 when any is an error.",
	.needs = CLI_NEEDS_REGISTRY,
	.run = validate_run,
};
