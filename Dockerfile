# The function image, built by `fn build` (func.yaml: runtime docker) on the Fn Python 3.11 images the Fn
# CLI's own python3.11 runtime uses (fnproject/cli langs/python.go): the -dev image to build, the plain one
# to run, /python and /function, PYTHONPATH=/function:/python, /python/bin/fdk as the entrypoint. One script
# makes both directories (build/fn_tree.py: the packages certmgr runs, and certmgr); `make fn-tree` runs it
# into .cache/fn-tree, where the suite runs the Fn end-to-end tests.
FROM fnproject/python:3.11-dev AS build-stage
WORKDIR /src
COPY requirements.txt ./
COPY build/fn_tree.py build/
COPY certmgr certmgr/
RUN python3 build/fn_tree.py / && chmod -R o+rX /python /function

FROM fnproject/python:3.11
WORKDIR /function
COPY --from=build-stage /python /python
COPY --from=build-stage /function /function
ENV PYTHONPATH=/function:/python
ENTRYPOINT ["/python/bin/fdk", "/function/certmgr/func.py", "handler"]
