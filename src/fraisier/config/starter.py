"""The commented fraises.yaml that `fraisier init` writes."""

STARTER_CONFIG = """\
# fraises.yaml: what Fraisier deploys, where, and how.
#
# Values may use ${VAR} or ${VAR:-default}; variables come from the process
# environment, then from a .env file next to this file. Write $${ for a literal ${.
# Relative paths are relative to the directory of this file.

# Shown in logs and the dashboard.
name: fraisier

# Where deployments, releases and webhook deliveries are recorded.
# sqlite:///relative/or/absolute.db or postgresql://user:pass@host/db;
# left empty it is sqlite:///<data_dir>/state.db (data_dir defaults to .fraisier).
state:
  url: ${FRAISIER_STATE_URL:-}

# Webhook secrets, per git provider. Leave one empty to refuse that provider's
# webhooks. Keep the real values in .env, not in this file.
git:
  github:
    webhook_secret: ${GITHUB_WEBHOOK_SECRET:-}
  gitlab:
    secret_token: ${GITLAB_SECRET_TOKEN:-}

webhook:
  max_body_bytes: 1048576      # larger payloads are rejected
  rate_limit_per_minute: 600   # per source address
  trusted_proxies: []          # addresses/CIDRs allowed to set X-Forwarded-For

worker:
  concurrency: 2               # deployments running at once (one per target at most)

# Defaults for every fraise environment with the same name.
environments:
  production:
    keep_releases: 10          # old releases kept for rollback
    env:
      APP_ENV: production

# Each fraise is one project to deploy. Names: lowercase letters, digits, - and _.
fraises:
  web:
    type: api                  # api, etl, scheduled or backup
    description: Public web application
    repository: ${WEB_REPOSITORY:-https://github.com/acme/web.git}
    # Commands run inside the new release directory. Three ways to write one:
    #   a string (split like a shell would, but no shell runs it),
    #   a list of arguments, or {shell: "..."} to run it with /bin/sh.
    install: [python3, -m, pip, install, --target, vendor, -r, requirements.txt]
    build: {shell: "python3 -m compileall -q . && echo built"}
    # A preset knows how to migrate up, record the revision, and migrate back down to it on
    # a rollback (alembic, confiture or django); or write `up:` and `down:` commands yourself.
    migrate:
      tool: django             # manage.py migrate; back down: manage.py migrate APP NAME
    env:
      PORT: 8000               # passed to every command (and to a command health check)

    environments:
      staging:
        branch: develop        # a glob: release/* would match every release branch
        app_path: /srv/web/staging   # releases/ and the current symlink go here
        restart: systemctl restart web-staging
        health_check:
          url: http://127.0.0.1:8001/health
          timeout: 5           # seconds per attempt
          retries: 10
        env:
          PORT: 8001
      production:
        branch: main
        app_path: /srv/web/production
        systemd_service: web   # shorthand for restart: systemctl restart web
        health_check:
          url: http://127.0.0.1:8000/health
          expect_status: 200
"""
