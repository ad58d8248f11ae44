# SPDX-License-Identifier: Apache-2.0
# `make drills`: fault drills on real stacks under load (tests/drills):
# the daemon killed, the database stopped, Apache's graceful restart, a
# slow consumer, WebSocket connection churn.  Figures go to
# build/results/drills.txt.
.PHONY: drills

drills: deps build web
	@mkdir -p $(BUILD)/results
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/drills \
	    --junitxml=$(BUILD)/results/drills.xml
