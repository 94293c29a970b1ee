/* What a run shows while it works. A one-line progress bar on a terminal,
 * redrawn in place on stderr: only when stderr is a terminal, not with
 * --json, and for runs of more than a few steps, so logs and pipes never
 * see control characters. And the line before a run waits for another's
 * lock, on every stderr but -q's: a silent wait looks like a hang. */
#include "cli.h"

#include <string.h>

#define PROGRESS_WIDTH 30

void cli_progress(void *arg, size_t done, size_t total, const struct dbreg_step *step)
{
	FILE *fp = arg;
	/* A short run is over before a bar could be read. */
	if (total <= CLI_PROGRESS_MIN_STEPS)
		return;
	size_t fill = done * PROGRESS_WIDTH / total;
	char bar[PROGRESS_WIDTH + 1];
	memset(bar, '#', fill);
	memset(bar + fill, '.', PROGRESS_WIDTH - fill);
	bar[PROGRESS_WIDTH] = '\0';
	/* \033[K clears what a longer previous name left behind. */
	fprintf(fp, "\r  [%s] %zu/%zu %.40s %.32s\033[K", bar, done, total, step->package, step->migration);
	if (done == total)
		fputc('\n', fp);
	fflush(fp);
}

void cli_waiting(void *arg, int timeout_s)
{
	struct cli_session *s = arg;
	if (s->o.quiet)
		return;
	fprintf(s->err, "waiting up to %d s (--lock-timeout) for another dbreg run on %s to finish\n", timeout_s,
		s->shown);
	fflush(s->err);
}
