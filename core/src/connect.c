/* Connecting with retries (connect.h): the one wait for a target that is not
 * up yet, shared by `init` (init.c) and a fleet's init (fleet.c). */
#include "connect.h"
#include "util.h"

#include <time.h>

static void connect_sleep(double seconds)
{
	struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
	nanosleep(&ts, NULL);
}

int dbreg_connect_waiting(struct dbreg_conn **conn, const char *url, bool readonly, int wait_s,
			  const volatile int *stop, FILE *log, unsigned *attempts, const char **hint, char *err,
			  size_t errsize)
{
	double start = dbreg_clock_ms(), delay = 0.25;
	for (;;) {
		++*attempts;
		int rc = readonly ? dbreg_target_connect_readonly(conn, url, err, errsize)
				  : dbreg_target_connect(conn, url, err, errsize);
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
