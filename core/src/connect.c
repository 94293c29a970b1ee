/* Connecting with retries (connect.h): the one wait for a target that is not
 * up yet, shared by `init` (init.c) and a fleet's init (fleet.c). */
#include "connect.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void connect_sleep(double seconds)
{
	struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
	nanosleep(&ts, NULL);
}

/* libpq waits connect_timeout (10 s by default) for a server that accepts
 * but does not answer: within a wait, each attempt gets only what is left of
 * it (libpq's least is 2 s), unless the URL sets its own. NULL: use url. */
static char *connect_capped(const char *url, int wait_s, double left)
{
	bool uri = strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
	bool keywords = !uri && strncmp(url, "sqlite:", 7) != 0 && strchr(url, '=');
	if (wait_s <= 0 || left >= 10 || (!uri && !keywords) || strstr(url, "connect_timeout") || getenv("PGCONNECT_TIMEOUT"))
		return NULL;
	int s = left < 2 ? 2 : (int)(left + 0.999);
	if (keywords)
		return dbreg_printf("%s connect_timeout=%d", url, s);
	return dbreg_printf("%s%cconnect_timeout=%d", url, strchr(url, '?') ? '&' : '?', s);
}

int dbreg_connect_waiting(struct dbreg_conn **conn, const char *url, bool readonly, int wait_s,
			  const volatile int *stop, FILE *log, unsigned *attempts, const char **hint, char *err,
			  size_t errsize)
{
	double start = dbreg_clock_ms(), delay = 0.25;
	for (;;) {
		++*attempts;
		char *capped = connect_capped(url, wait_s, (double)wait_s - (dbreg_clock_ms() - start) / 1e3);
		const char *u = capped ? capped : url;
		int rc = readonly ? dbreg_target_connect_readonly(conn, u, err, errsize)
				  : dbreg_target_connect(conn, u, err, errsize);
		free(capped);
		if (rc == 0 || rc == DBREG_EUSAGE)
			return rc;
		bool transient = true;
		const char *advice = dbreg_target_connect_advice(url, err, &transient);
		if (hint)
			*hint = advice;
		double left = (double)wait_s - (dbreg_clock_ms() - start) / 1e3;
		if (!transient || left <= 0)
			return rc;
		if (log)
			fprintf(log, "  connection refused (%s); retrying in %.2f s\n", err, delay);
		/* In slices, so that a stop is seen within 0.25 s. */
		for (double nap = delay < left ? delay : left; nap > 0; nap -= 0.25) {
			if (stop && *stop)
				return 1;
			connect_sleep(nap < 0.25 ? nap : 0.25);
		}
		if (stop && *stop)
			return 1;
		delay = delay * 2 > 4 ? 4 : delay * 2;
	}
}
