# Who may do what. Each function is its own dynamic group, matched by its OCID, so one renewer's grants
# never reach another's zone or secrets and the monitor's never include a renewer's writes. Grants name the
# zone, vault, key and each secret exactly wherever OCI documents a policy variable for it; where it does
# not (Load Balancer, Notifications, Logging), the compartment is the scope. Policies sit at the tenancy
# root because they reach into several compartments and "inspect tenancies" can only be granted there.
# certmgr/cloud/permissions.json lists each OCI operation certmgr calls and the grant it needs, and these
# statements with the deployment's names as placeholders (certmgr fills them in to name the grant an error
# lacks); tests/unit/test_iam_policies.py checks these statements against it both ways (no missing grant, no
# unused grant) and word for word.

locals {
  # Names are known before the groups exist; a missing existing name shows as a placeholder in the
  # policy_statements output, and the policies' preconditions refuse to apply it.
  renewer_groups = {
    for prefix, e in local.entries : prefix => var.create_dynamic_group ? "${prefix}-certmgr-renewer" : coalesce(var.existing_dynamic_group_name, "<existing_dynamic_group_name>")
  }
  monitor_group = var.create_dynamic_group ? "${var.name_prefix}-certmgr-monitor" : coalesce(var.existing_monitor_dynamic_group_name, var.existing_dynamic_group_name, "<existing_monitor_dynamic_group_name>")

  renewer_statements = {
    for prefix, e in local.entries : prefix => concat(
      # DNS (https://docs.oracle.com/iaas/Content/Identity/Reference/dnspolicyreference.htm): target.dns-zone.id
      # is documented for dns-zones and dns-records. GetZone; PatchZoneRecords of this zone only.
      [
        "Allow dynamic-group ${local.renewer_groups[prefix]} to read dns-zones in compartment id ${local.dns_zone_compartment_id} where target.dns-zone.id = '${e.dns_zone_id}'",
        "Allow dynamic-group ${local.renewer_groups[prefix]} to manage dns-records in compartment id ${local.dns_zone_compartment_id} where target.dns-zone.id = '${e.dns_zone_id}'",
      ],
      # Vault (https://docs.oracle.com/iaas/Content/Identity/Reference/keypolicyreference.htm): target.vault.id,
      # target.key.id and target.secret.name are documented for secret-family. ListSecrets finds a secret by
      # name (metadata only, compartment-wide); then each of this renewer's exact secret names may be read
      # and updated (use), created (SECRET_CREATE) and have old versions deleted (secret-versions).
      ["Allow dynamic-group ${local.renewer_groups[prefix]} to inspect secrets in compartment id ${var.compartment_id}"],
      flatten([for role in local.secret_roles : [
        "Allow dynamic-group ${local.renewer_groups[prefix]} to use secret-family in compartment id ${var.compartment_id} where all {target.vault.id = '${var.vault_id}', target.secret.name = '${prefix}-${role}'}",
        "Allow dynamic-group ${local.renewer_groups[prefix]} to manage secrets in compartment id ${var.compartment_id} where all {target.vault.id = '${var.vault_id}', target.secret.name = '${prefix}-${role}', request.permission = 'SECRET_CREATE'}",
        "Allow dynamic-group ${local.renewer_groups[prefix]} to manage secret-versions in compartment id ${var.compartment_id} where all {target.vault.id = '${var.vault_id}', target.secret.name = '${prefix}-${role}'}",
      ]]),
      [
        "Allow dynamic-group ${local.renewer_groups[prefix]} to use vaults in compartment id ${local.vault_compartment_id} where target.vault.id = '${var.vault_id}'",
        "Allow dynamic-group ${local.renewer_groups[prefix]} to use keys in compartment id ${local.vault_compartment_id} where target.key.id = '${var.vault_key_id}'",
        # Load Balancing (https://docs.oracle.com/iaas/Content/Identity/Reference/lbpolicyreference.htm)
        # documents only the general variables: the LB's compartment is the scope. READ for the LB, its
        # certificates and work requests; UPDATE for certificates and listeners. The verb "use" would also
        # allow moving the LB, so the statement lists the permissions instead.
        "Allow dynamic-group ${local.renewer_groups[prefix]} to {LOAD_BALANCER_READ, LOAD_BALANCER_UPDATE} in compartment id ${local.lb_compartment_id}",
      ],
      # Certificates (https://docs.oracle.com/iaas/Content/Identity/Reference/certificatespolicyreference.htm),
      # only with the Certificates-service target: create the certificate (and a successor), add versions,
      # schedule the deletion of a replaced certificate, and of old DEPRECATED versions. No bundles: the
      # renewer reads its key from Vault, never back from the service.
      e.certificate_name == null ? [] : [
        "Allow dynamic-group ${local.renewer_groups[prefix]} to manage leaf-certificates in compartment id ${var.compartment_id}",
        "Allow dynamic-group ${local.renewer_groups[prefix]} to manage leaf-certificate-versions in compartment id ${var.compartment_id}",
      ],
    )
  }

  monitor_secrets = ["${var.name_prefix}-monitor-state", "${var.name_prefix}-certificate"]
  monitor_statements = concat(
    [
      # Identity (https://docs.oracle.com/iaas/Content/Identity/Reference/iampolicyreference.htm): subscribed
      # regions and compartment names.
      "Allow dynamic-group ${local.monitor_group} to inspect tenancies in tenancy",
      "Allow dynamic-group ${local.monitor_group} to inspect compartments in ${local.monitor_scope}",
      # Certificates (https://docs.oracle.com/iaas/Content/Identity/Reference/certificatespolicyreference.htm),
      # found through Resource Search, and load balancers' certificates.
      "Allow dynamic-group ${local.monitor_group} to read leaf-certificate-family in ${local.monitor_scope}",
      "Allow dynamic-group ${local.monitor_group} to read load-balancers in ${local.monitor_scope}",
      # Vault (keypolicyreference.htm, above): its memory secret (read, create, update, prune) and certmgr's
      # certificate (read), by exact name.
      "Allow dynamic-group ${local.monitor_group} to inspect secrets in compartment id ${var.compartment_id}",
      "Allow dynamic-group ${local.monitor_group} to use secret-family in compartment id ${var.compartment_id} where all {target.vault.id = '${var.vault_id}', target.secret.name = '${local.monitor_secrets[0]}'}",
      "Allow dynamic-group ${local.monitor_group} to manage secrets in compartment id ${var.compartment_id} where all {target.vault.id = '${var.vault_id}', target.secret.name = '${local.monitor_secrets[0]}', request.permission = 'SECRET_CREATE'}",
      "Allow dynamic-group ${local.monitor_group} to manage secret-versions in compartment id ${var.compartment_id} where all {target.vault.id = '${var.vault_id}', target.secret.name = '${local.monitor_secrets[0]}'}",
      "Allow dynamic-group ${local.monitor_group} to read secret-bundles in compartment id ${var.compartment_id} where all {target.vault.id = '${var.vault_id}', target.secret.name = '${local.monitor_secrets[1]}'}",
      "Allow dynamic-group ${local.monitor_group} to use vaults in compartment id ${local.vault_compartment_id} where target.vault.id = '${var.vault_id}'",
      "Allow dynamic-group ${local.monitor_group} to use keys in compartment id ${local.vault_compartment_id} where target.key.id = '${var.vault_key_id}'",
    ],
    length(local.smtp_secret_ids) > 0 ? [
      "Allow dynamic-group ${local.monitor_group} to read secret-bundles in tenancy where any {${join(", ", [for id in local.smtp_secret_ids : "target.secret.id = '${id}'"])}}",
    ] : [],
    # Notifications (https://docs.oracle.com/iaas/Content/Identity/Reference/notificationpolicyreference.htm)
    # and Logging ingestion (https://docs.oracle.com/iaas/Content/Identity/Reference/loggingpolicyreference.htm).
    local.monitor_has_topic ? [
      "Allow dynamic-group ${local.monitor_group} to use ons-topics in compartment id ${var.compartment_id} where request.permission = 'ONS_TOPIC_PUBLISH'",
    ] : [],
    local.monitor_has_log ? [
      "Allow dynamic-group ${local.monitor_group} to use log-content in compartment id ${var.compartment_id}",
    ] : [],
  )

  # A schedule acts as its own principal: it may invoke its function and nothing else, as in Resource
  # Scheduler's examples (https://docs.oracle.com/iaas/Content/resource-scheduler/tasks/policies.htm).
  scheduler_statements = flatten([
    for schedule in oci_resource_scheduler_schedule.this : [
      for grant in ["read fn-function", "use fn-invocation"] :
      "Allow any-user to ${grant} in compartment id ${var.compartment_id} where all {request.principal.type = 'resourceschedule', request.principal.id = '${schedule.id}'}"
    ]
  ])
}

resource "oci_identity_dynamic_group" "renewer" {
  provider = oci.home # identity lives in the home region
  for_each = var.create_dynamic_group ? local.entries : {}

  compartment_id = var.tenancy_ocid
  name           = local.renewer_groups[each.key]
  description    = "certmgr renewer function (${each.key})"
  matching_rule  = "ALL {resource.type = 'fnfunc', resource.id = '${oci_functions_function.renewer[each.key].id}'}"
  freeform_tags  = local.tags
}

resource "oci_identity_dynamic_group" "monitor" {
  provider = oci.home # identity lives in the home region
  count    = var.create_dynamic_group && local.monitor_enabled ? 1 : 0

  compartment_id = var.tenancy_ocid
  name           = local.monitor_group
  description    = "certmgr expiry monitor function"
  matching_rule  = "ALL {resource.type = 'fnfunc', resource.id = '${oci_functions_function.monitor[0].id}'}"
  freeform_tags  = local.tags
}

resource "oci_identity_policy" "renewer" {
  provider = oci.home # identity lives in the home region
  for_each = var.create_policies ? local.entries : {}

  compartment_id = var.tenancy_ocid
  name           = "${each.key}-certmgr-renewer"
  description    = "certmgr renewer ${each.key}: DNS-01 in one zone, its own Vault secrets, LB certificates"
  statements     = local.renewer_statements[each.key]
  freeform_tags  = local.tags
  depends_on     = [oci_identity_dynamic_group.renewer]

  lifecycle {
    precondition {
      condition     = var.create_dynamic_group || (var.existing_dynamic_group_name != null && length(local.entries) == 1)
      error_message = "Set existing_dynamic_group_name when create_dynamic_group is false (one certificate only: a fleet needs a group per function)."
    }
  }
}

resource "oci_identity_policy" "monitor" {
  provider = oci.home # identity lives in the home region
  count    = var.create_policies && local.monitor_enabled ? 1 : 0

  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-certmgr-monitor"
  description    = "certmgr monitor: read certificates and load balancers, its memory secret, publish alerts"
  statements     = local.monitor_statements
  freeform_tags  = local.tags
  depends_on     = [oci_identity_dynamic_group.monitor]

  lifecycle {
    precondition {
      condition     = var.create_dynamic_group || var.existing_monitor_dynamic_group_name != null || var.existing_dynamic_group_name != null
      error_message = "Set existing_dynamic_group_name (or existing_monitor_dynamic_group_name for a group of its own) when create_dynamic_group is false."
    }
  }
}

resource "oci_identity_policy" "scheduler" {
  provider = oci.home # identity lives in the home region
  count    = var.create_policies && local.enabled ? 1 : 0

  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-certmgr-scheduler"
  description    = "certmgr schedules may invoke their functions"
  statements     = local.scheduler_statements
  freeform_tags  = local.tags
}
