/* rules: the dependency rules of rules.h. */
#include "rules.h"

int wn_deps_edge_state(int cond, int status)
{
	/* docs/dependencies.md, "What each end means": the table this follows */
	switch (status) {
	case PENDING:
	case RUNNING:
		return EDGE_UNDECIDED;
	case COMPLETED:
		return cond == WHATSNEXT__V1__DEP_CONDITION__AFTERNOTOK ? EDGE_BROKEN : EDGE_OK;
	case FAILED:
	case CANCELLED:
	case BLOCKED: /* it will not run unless someone retries: an end without success */
		return cond == WHATSNEXT__V1__DEP_CONDITION__AFTEROK ? EDGE_BROKEN : EDGE_OK;
	default: /* 0: removed, its outcome unknown; only afterany asks for none */
		return cond == WHATSNEXT__V1__DEP_CONDITION__AFTERANY ? EDGE_OK : EDGE_BROKEN;
	}
}

const char *wn_deps_cond_name(int cond)
{
	switch (cond) {
	case WHATSNEXT__V1__DEP_CONDITION__AFTERANY:
		return "afterany";
	case WHATSNEXT__V1__DEP_CONDITION__AFTERNOTOK:
		return "afternotok";
	default:
		return "afterok";
	}
}
