/* rules: the dependency rules of rules.h. */
#include "rules.h"

int wn_deps_edge_state(int cond, int status)
{
	switch (status) {
	case PENDING:
	case RUNNING:
		return EDGE_UNDECIDED;
	case COMPLETED:
		return cond == WHATSNEXT__V1__DEP_CONDITION__AFTERNOTOK ? EDGE_BROKEN : EDGE_OK;
	case FAILED:
	case CANCELLED:
		return cond == WHATSNEXT__V1__DEP_CONDITION__AFTEROK ? EDGE_BROKEN : EDGE_OK;
	default: /* BLOCKED: cannot end without someone's help; 0: removed */
		return EDGE_BROKEN;
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
