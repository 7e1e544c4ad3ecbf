# Who may do what. Each function is its own dynamic group, matched by its OCID, so the monitor's
# read-only grants and the renewer's write grants never mix. Grants name the zone, vault, key and secrets
# wherever OCI policy variables allow it; where they don't (Load Balancer, Notifications, Logging), the
# compartment is the scope. Policies sit at the tenancy root because they reach into several compartments
# and "inspect tenancies" can only be granted there.

locals {
  # Names are known before the groups exist; a missing existing name shows as a placeholder in the
  # policy_statements output, and the policies' preconditions refuse to apply it.
  renewer_group = var.create_dynamic_group ? "${var.name_prefix}-certmgr-renewer" : coalesce(var.existing_dynamic_group_name, "<existing_dynamic_group_name>")
  monitor_group = var.create_dynamic_group ? "${var.name_prefix}-certmgr-monitor" : coalesce(var.existing_monitor_dynamic_group_name, "<existing_monitor_dynamic_group_name>")

  renewer_statements = [
    # DNS-01: read the zone, add and remove records in that zone only.
    "Allow dynamic-group ${local.renewer_group} to read dns-zones in compartment id ${local.dns_zone_compartment_id} where target.dns-zone.id = '${var.dns_zone_id}'",
    "Allow dynamic-group ${local.renewer_group} to manage dns-records in compartment id ${local.dns_zone_compartment_id} where target.dns-zone.id = '${var.dns_zone_id}'",
    # Vault: find secrets by name (metadata only); read and add versions of certmgr's own secrets
    # ({prefix}-*) in this vault; create them on first run. No delete.
    "Allow dynamic-group ${local.renewer_group} to inspect secrets in compartment id ${var.compartment_id}",
    "Allow dynamic-group ${local.renewer_group} to use secret-family in compartment id ${var.compartment_id} where all {target.vault.id = '${var.vault_id}', target.secret.name = /${var.name_prefix}-*/}",
    "Allow dynamic-group ${local.renewer_group} to manage secrets in compartment id ${var.compartment_id} where all {target.vault.id = '${var.vault_id}', target.secret.name = /${var.name_prefix}-*/, request.permission = 'SECRET_CREATE'}",
    "Allow dynamic-group ${local.renewer_group} to use vaults in compartment id ${local.vault_compartment_id} where target.vault.id = '${var.vault_id}'",
    "Allow dynamic-group ${local.renewer_group} to use keys in compartment id ${local.vault_compartment_id} where target.key.id = '${var.vault_key_id}'",
    # Load Balancer: certificates and listeners. The verb "use" would also allow moving the LB, so the
    # statement lists the permissions instead.
    "Allow dynamic-group ${local.renewer_group} to {LOAD_BALANCER_INSPECT, LOAD_BALANCER_READ, LOAD_BALANCER_UPDATE} in compartment id ${local.lb_compartment_id}",
  ]

  monitor_statements = concat(
    [
      # List subscribed regions, then read certificates and LB certificates in each.
      "Allow dynamic-group ${local.monitor_group} to inspect tenancies in tenancy",
      "Allow dynamic-group ${local.monitor_group} to read leaf-certificate-family in ${local.monitor_scope}",
      "Allow dynamic-group ${local.monitor_group} to read load-balancers in ${local.monitor_scope}",
    ],
    length(local.smtp_secret_ids) > 0 ? [
      "Allow dynamic-group ${local.monitor_group} to read secret-bundles in tenancy where any {${join(", ", [for id in local.smtp_secret_ids : "target.secret.id = '${id}'"])}}",
    ] : [],
    local.monitor_has_topic ? [
      "Allow dynamic-group ${local.monitor_group} to use ons-topics in compartment id ${var.compartment_id} where request.permission = 'ONS_TOPIC_PUBLISH'",
    ] : [],
    local.monitor_has_log ? [
      "Allow dynamic-group ${local.monitor_group} to use log-content in compartment id ${var.compartment_id}",
    ] : [],
  )

  # A schedule acts as its own principal: it may invoke its function and nothing else.
  scheduler_statements = flatten([
    for schedule in oci_resource_scheduler_schedule.this : [
      for grant in ["read fn-function", "use fn-invocation"] :
      "Allow any-user to ${grant} in compartment id ${var.compartment_id} where all {request.principal.type = 'resourceschedule', request.principal.id = '${schedule.id}'}"
    ]
  ])
}

resource "oci_identity_dynamic_group" "renewer" {
  count = var.create_dynamic_group ? 1 : 0

  compartment_id = var.tenancy_ocid
  name           = local.renewer_group
  description    = "certmgr renewer function"
  matching_rule  = "ALL {resource.type = 'fnfunc', resource.id = '${oci_functions_function.renewer.id}'}"
  freeform_tags  = local.tags
}

resource "oci_identity_dynamic_group" "monitor" {
  count = var.create_dynamic_group && var.enable_monitor ? 1 : 0

  compartment_id = var.tenancy_ocid
  name           = local.monitor_group
  description    = "certmgr expiry monitor function"
  matching_rule  = "ALL {resource.type = 'fnfunc', resource.id = '${oci_functions_function.monitor[0].id}'}"
  freeform_tags  = local.tags
}

resource "oci_identity_policy" "renewer" {
  count = var.create_policies ? 1 : 0

  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-certmgr-renewer"
  description    = "certmgr renewer: DNS-01 in one zone, its own Vault secrets, LB certificates"
  statements     = local.renewer_statements
  freeform_tags  = local.tags
  depends_on     = [oci_identity_dynamic_group.renewer]

  lifecycle {
    precondition {
      condition     = var.create_dynamic_group || var.existing_dynamic_group_name != null
      error_message = "Set existing_dynamic_group_name when create_dynamic_group is false."
    }
  }
}

resource "oci_identity_policy" "monitor" {
  count = var.create_policies && var.enable_monitor ? 1 : 0

  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-certmgr-monitor"
  description    = "certmgr monitor: read certificates and load balancers, publish alerts"
  statements     = local.monitor_statements
  freeform_tags  = local.tags
  depends_on     = [oci_identity_dynamic_group.monitor]

  lifecycle {
    precondition {
      condition     = var.create_dynamic_group || var.existing_monitor_dynamic_group_name != null
      error_message = "Set existing_monitor_dynamic_group_name when create_dynamic_group is false."
    }
  }
}

resource "oci_identity_policy" "scheduler" {
  count = var.create_policies ? 1 : 0

  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-certmgr-scheduler"
  description    = "certmgr schedules may invoke their functions"
  statements     = local.scheduler_statements
  freeform_tags  = local.tags
}
