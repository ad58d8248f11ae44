# SPDX-License-Identifier: Apache-2.0
# deb.mk -- the Debian package.
#
# `make deb` builds it in a copy of the checkout (build/deb-src/timing:
# the files git tracks or would track, plus the API viewer that `make web`
# builds, since a Debian build has no network), so the checkout stays
# clean; the .deb, .buildinfo and .changes land in build/deb/.
# `make deb-test` builds it, runs lintian (errors fail), then
# tests/package: the package unpacked into a temporary root and run from
# there (its module, conf, migrations, tools and daemon).

DEB_SRC := $(BUILD)/deb-src/timing
DEB_OUT := $(BUILD)/deb

.PHONY: deb deb-test

deb: web
	@rm -rf $(BUILD)/deb-src $(DEB_OUT) && mkdir -p $(DEB_SRC) $(DEB_OUT)
	@git ls-files -z --cached --others --exclude-standard \
	  | tar --null -T - --ignore-failed-read -cf - \
	      web/api-docs/vendor web/api-docs/timing.postman_collection.json \
	  | tar -C $(DEB_SRC) -xf -
	cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc >../build.log 2>&1 \
	  || { tail -40 ../build.log; exit 1; }
	@mv $(BUILD)/deb-src/*.deb $(BUILD)/deb-src/*.buildinfo \
	    $(BUILD)/deb-src/*.changes $(DEB_OUT)/
	@ls -l $(DEB_OUT)/*.deb

deb-test: deb
	@lintian --fail-on error --info $(DEB_OUT)/*.changes \
	    > $(DEB_OUT)/lintian.txt 2>&1; rc=$$?; \
	  grep -v '^running with root' $(DEB_OUT)/lintian.txt; \
	  echo "lintian: $$(grep -c '^[EW]:' $(DEB_OUT)/lintian.txt) errors and warnings (build/deb/lintian.txt)"; \
	  exit $$rc
	TIMING_DEB="$$(ls $(abspath $(DEB_OUT))/*.deb | grep -v -- -dbgsym_)" \
	    $(PYTHON) -m pytest -q -p no:cacheprovider tests/package
