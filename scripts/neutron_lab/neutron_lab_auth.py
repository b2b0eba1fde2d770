"""Lab only: stands in for keystonemiddleware's auth_token on the loopback Neutron of scripts/neutron_lab.

With ``auth_strategy = noauth`` Neutron builds an admin context without a project,
and refuses every create whose body has no tenant_id ("Running without keystone
AuthN requires that tenant_id is specified"); openstacksdk sends none. This filter
sets the identity headers keystone's auth_token would have set (a header the client
sends itself wins, e.g. ``X-Roles: admin,member,reader`` for the seeding calls), so
Neutron's own keystonecontext filter builds a project-scoped context and the
policies of a real cloud apply. Never expose it beyond 127.0.0.1.
"""

DEFAULTS = {
    "HTTP_X_PROJECT_ID": "5ca1ab1e5ca1ab1e5ca1ab1e00000001",
    "HTTP_X_PROJECT_NAME": "sciaas-lab",
    "HTTP_X_PROJECT_DOMAIN_ID": "default",
    "HTTP_X_USER_ID": "5ca1ab1e5ca1ab1e5ca1ab1e000000aa",
    "HTTP_X_USER_NAME": "lab",
    "HTTP_X_USER_DOMAIN_ID": "default",
    "HTTP_X_ROLES": "member,reader",
    "HTTP_X_IDENTITY_STATUS": "Confirmed",
}


def filter_factory(global_conf, **local_conf):
    defaults = dict(DEFAULTS)
    if local_conf.get("roles"):
        defaults["HTTP_X_ROLES"] = local_conf["roles"]
    if local_conf.get("project_id"):
        defaults["HTTP_X_PROJECT_ID"] = local_conf["project_id"]

    def wrap(app):
        def middleware(environ, start_response):
            for key, value in defaults.items():
                environ.setdefault(key, value)
            return app(environ, start_response)
        return middleware
    return wrap
