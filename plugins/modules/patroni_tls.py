#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: patroni_tls
short_description: Patroni's REST API and patronictl on TLS from the fleet CA, applied with a reload and proven
version_added: 0.4.0
description:
  - Runs on a Patroni member, as root. What reads or writes what Patroni's user can change (the
    key and certificate files, the process list) runs in a child process that has dropped to
    O(user); root only makes O(dir) and rewrites O(config_file) itself, keeping its owner and
    mode (a link planted at its name is refused).
  - The member's key and certificate live in one of two slots, C(rest-a) and C(rest-b), of
    O(dir), beside C(ca.crt) (O(ca_bundle)). A new certificate always goes into the slot
    patroni.yml does not name, with a new key made on the host (it never leaves it), and
    patroni.yml then moves to it, so Patroni never reads a new certificate beside an old key,
    even when a run dies halfway or Patroni restarts in between.
  - The certificate (profile C(pooler), serverAuth and clientAuth) serves the REST API
    (C(restapi.certfile), C(restapi.keyfile), C(restapi.cafile), C(restapi.verify_client)) and,
    with O(ctl), is the client certificate patronictl and the other members present
    (C(ctl.certfile), C(ctl.keyfile), C(ctl.cacert)); Patroni's members send it with their calls
    to each other, which C(verify_client=required) demands.
  - O(config_file) is edited in place, every other byte kept (comments, order, quoting). The
    result must read back, with PyYAML's safe loader as Patroni reads it, as exactly the old
    configuration with these keys changed; a section written in flow style or JSON, a key given
    twice, an anchor shared with another place or a block scalar at one of these keys is refused
    before anything changes. A Patroni started with C(PATRONI_RESTAPI_*) or C(PATRONI_CTL_*) TLS
    variables in its environment (which win over the file) is refused too.
  - O(state=status) says what is due (RV(reasons)); with O(prepare) it also makes the new key in
    the free slot and returns its CSR, for M(pgssl.postgresql.sign) with C(profile=pooler).
    O(state=install) writes the signed certificate into its slot (checked against the slot's key,
    the names and O(ca_bundle)), the CA bundle and patroni.yml. The new pair is then loaded as
    Patroni loads it, as Patroni's user (a REST API that fails to load its certificate at a
    reload has already closed its socket and stays down), and Patroni reloads with SIGHUP, sent
    as its own user to the process started with O(config_file) (what C(POST /reload) does, with
    no REST credential). The proof, within O(timeout), is a verify-full handshake with the REST
    API serving the new certificate, C(GET /patroni) answering with the new client certificate,
    and the cluster view listing the member at its https address (what patronictl and the other
    members use). When the proof fails, patroni.yml is put back and Patroni reloaded again.
  - A reload is enough for every key this module sets (Patroni re-binds its REST API when the
    certificate, key, CA or C(verify_client) change), except the DCS client's (O(dcs_tls)) -
    Patroni 4 reads C(etcd3.protocol), C(cacert), C(cert) and C(key) only when it starts (a
    reload takes the DCS user name and password, nothing else). Those need a restart of Patroni,
    which stops and starts PostgreSQL on the member; the module restarts only when told
    (O(allow_restart), O(restart_command)), and never the leader.
author:
  - pgssl.postgresql developers (@pgssl)
extends_documentation_fragment:
  - pgssl.postgresql.slots
attributes:
  check_mode:
    support: full
    description: Says what is due and which keys would change; nothing is written or reloaded.
  diff_mode:
    support: full
    description: patroni.yml before and after, with every secret value (passwords, C(auth),
      C(keyfile_password)) masked; in check mode, the changed keys only.
seealso:
  - module: pgssl.postgresql.sign
  - module: pgssl.postgresql.patroni_config
options:
  config_file:
    description: The member's patroni.yml, as Patroni was started with it (a file, not a directory).
    type: path
    required: true
  user:
    description: The OS user Patroni runs as.
    type: str
    default: postgres
  dir:
    description:
      - The directory of the slots and C(ca.crt), owned by O(user), mode 0700; made when missing.
      - Default C(pgssl) beside O(config_file).
    type: path
  common_name:
    description: The certificate's common name, the member's name.
    type: str
    required: true
  subject_alt_names:
    description: The names the REST API is reached by (C(DNS:), C(IP:) or bare); the host of
      C(restapi.connect_address) must be among them, as patronictl verifies it.
    type: list
    elements: str
    default: []
  ca_bundle:
    description:
      - The CA certificates (PEM) written to C(ca.crt), which the REST API checks client
        certificates against and patronictl checks the REST API against. During a CA rollover,
        both CAs.
      - Empty only in check mode before the CA exists (RV(reasons) has C(ca_missing)).
    type: str
    required: true
  certificate:
    description: With O(state=install), the signed certificate (PEM, leaf first) for O(slot).
    type: str
  verify_client:
    description:
      - C(restapi.verify_client). V(optional) asks every client for a certificate of O(ca_bundle)
        and refuses the unsafe calls (C(POST), C(PATCH), C(PUT), C(DELETE)) without one, while a
        load balancer's health check (C(GET)) still needs none. V(required) refuses every call
        without one. V(none) asks for none.
    type: str
    choices: [none, optional, required]
    default: optional
  ctl:
    description: Also set C(ctl.certfile), C(ctl.keyfile) and C(ctl.cacert) to the slot and
      C(ca.crt), for patronictl on this host and Patroni's calls to the other members.
    type: bool
    default: true
  replication_verify:
    description:
      - Also make Patroni's own connections to the leader verify it and present the member's
        certificate - C(sslmode=verify-full), C(sslrootcert) (C(ca.crt)), C(sslcert) and C(sslkey)
        (the slot's pair, whose clientAuth a leader's C(clientcert=verify-ca) or C(cert) rule
        takes) in C(postgresql.authentication.replication) and, when present,
        C(postgresql.authentication.rewind). Patroni rewrites C(primary_conninfo) from them at
        the reload and the walreceiver reconnects; on a replica the proof waits until it streams
        again with C(sslmode=verify-full) (C(pg_stat_wal_receiver), read as O(user) over the unix
        socket of C(postgresql.parameters.unix_socket_directories), peer authentication), else
        the change is rolled back.
      - The leader's server certificate must be from O(ca_bundle) and name the address in its
        C(postgresql.connect_address). Run it after the servers serve their certificates.
      - C(postgresql.authentication.superuser) is left alone - Patroni's local connection may go
        to C(localhost) or a socket, which no certificate names.
    type: bool
    default: false
  dcs_tls:
    description:
      - Also move Patroni's client of etcd (its DCS, section C(etcd3) or C(etcd)) to https,
        verified against C(ca.crt), presenting the member's certificate - C(protocol=https),
        C(cacert), and C(cert) and C(key) naming C(dcs-client.pem) in O(dir), a copy of the slot's
        key and certificate (0600, O(user)). That file keeps its path; a renewal replaces its
        content, which the DCS client reads at its next connection, so only the first switch
        needs a restart.
      - etcd must already serve https with a certificate from O(ca_bundle) for the address in
        C(hosts) (O(dcs_hosts)), and accept the member's certificate when it asks for one.
      - The switch needs O(allow_restart) and O(restart_command); without them it is refused
        before anything is written (code C(restart_needed)). On the leader it is refused (code
        C(leader_restart)); switch over first (C(patronictl switchover)), restart the old leader
        as a replica. The proof after the restart adds the member back in the cluster view,
        running or streaming, with C(dcs_last_seen) after the restart began. When it fails,
        patroni.yml is put back and Patroni restarted again.
    type: bool
    default: false
  dcs_hosts:
    description: With O(dcs_tls), the etcd endpoints (C(HOST:PORT)) to write to C(etcd3.hosts)
      (or C(etcd.hosts)), for an etcd that serves https on another port than http. Default leave
      C(hosts) as it is.
    type: list
    elements: str
    default: []
  allow_restart:
    description: Let the module restart this member's Patroni (with O(restart_command)) when a
      key it sets applies only at a start (O(dcs_tls)). Never the leader.
    type: bool
    default: false
  restart_command:
    description: The command that restarts this member's Patroni (argv, run as root without a
      shell, within O(timeout)), for example C([systemctl, restart, patroni]).
    type: list
    elements: str
    default: []
  tls_host:
    description: The name the proof verifies the REST API's certificate against. Default the host
      of C(restapi.connect_address).
    type: str
  tls_hostaddr:
    description: The address of the proof's connections. Default the host of
      C(restapi.connect_address).
    type: str
  member_view:
    description: Also ask the REST API, with the certificate of the slot in use, for the member's
      role and state as the cluster lists it (RV(member_view)); for an audit.
    type: bool
    default: false
  backup:
    description: Keep a private copy of O(config_file) before it is rewritten.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for the proof after the reload (Patroni reloads within its
      C(loop_wait), and lists its new address in the DCS at its next cycle).
    type: int
    default: 60
requirements:
  - cryptography
  - PyYAML on the Patroni host
  - psycopg (3) on the Patroni host, for O(replication_verify) and O(allow_restart)
notes:
  - When the REST API moves from http to https, the members still on http and patronictl with
    an older configuration reach it only once their own run moves them; run every member in the
    same play.
"""

EXAMPLES = r"""
- name: What is due on the member, and when a certificate is, its new key and CSR
  pgssl.postgresql.patroni_tls:
    config_file: /etc/patroni/config.yml
    prepare: true
    common_name: db1
    subject_alt_names: [db1.example.com, "IP:10.0.0.11"]
    ca_bundle: "{{ lookup('ansible.builtin.file', 'ca/ca.crt') }}"
  register: rest

- name: Certify it on the CA node
  pgssl.postgresql.sign:
    dir: /srv/pgssl-ca/issued
    ca_cert_path: /srv/pgssl-ca/ca.crt
    ca_key_path: /srv/pgssl-ca/ca.key
    profile: pooler
    requests:
      - name: db1-rest
        csr: "{{ rest.csr }}"
        common_name: db1
        subject_alt_names: [db1.example.com, "IP:10.0.0.11"]
  delegate_to: localhost
  register: signed
  when: rest.csr is defined

- name: Install it, point patroni.yml at it, reload and prove
  pgssl.postgresql.patroni_tls:
    config_file: /etc/patroni/config.yml
    state: install
    slot: "{{ rest.slot }}"
    certificate: "{{ signed.certificates['db1-rest'].certificate if rest.csr is defined else omit }}"
    common_name: db1
    subject_alt_names: [db1.example.com, "IP:10.0.0.11"]
    ca_bundle: "{{ lookup('ansible.builtin.file', 'ca/ca.crt') }}"
    verify_client: required
  when: rest.due

# Patroni's client of etcd on https: a restart of Patroni, replicas only (switch the leader over
# first); etcd already serves https on 2378 with a certificate from the same CA
- name: etcd over https with the member's certificate
  pgssl.postgresql.patroni_tls:
    state: install
    config_file: /etc/patroni/patroni.yml
    common_name: db2
    subject_alt_names: [db2.example.com, "IP:10.0.0.12"]
    ca_bundle: "{{ lookup('ansible.builtin.file', 'ca/ca.crt') }}"
    dcs_tls: true
    dcs_hosts: ["10.0.0.5:2378", "10.0.0.6:2378", "10.0.0.7:2378"]
    allow_restart: true
    restart_command: [systemctl, restart, patroni]
"""

RETURN = r"""
due:
  description: Whether anything is due.
  returned: always
  type: bool
reasons:
  description: Why (C(not_linked), C(ca_missing), C(ca_changed), C(missing), C(expiring),
    C(expired), C(issuer_changed), C(subject_changed), C(san_changed), C(key_mismatch),
    C(key_type_changed), C(not_served), C(forced), C(settings_changed)).
  returned: always
  type: list
  elements: str
renew:
  description: Whether a new key and certificate are due.
  returned: always
  type: bool
slot:
  description: The slot a new certificate goes to (or the one in use when none is due).
  returned: always
  type: str
slot_in_use:
  description: The slot patroni.yml names now, if any.
  returned: always
  type: str
paths:
  description: The key and certificate paths of RV(slot).
  returned: always
  type: dict
csr:
  description: The CSR of the new key (O(prepare) and a certificate due).
  returned: when a new key was made
  type: str
certificate:
  description: Public facts of the certificate in use (or installed).
  returned: always
  type: dict
member:
  description: The member's C(name) in patroni.yml.
  returned: always
  type: str
scope:
  description: The cluster's C(scope) in patroni.yml.
  returned: always
  type: str
rest:
  description: Where the proof reaches the REST API (C(host) to verify, C(address), C(port)).
  returned: always
  type: dict
settings:
  description: The managed keys as patroni.yml holds them before this run.
  returned: always
  type: dict
wanted:
  description: The managed keys as they should be.
  returned: always
  type: dict
changed_settings:
  description: The keys that change.
  returned: always
  type: list
  elements: str
member_view:
  description: With O(member_view) and a slot in use, the member as the cluster lists it (C(role),
    C(state), C(api_url)), or C(error) when the REST API did not answer with the slot's certificate.
  returned: with O(member_view)
  type: dict
pids:
  description: The Patroni processes running with O(config_file).
  returned: always
  type: list
  elements: int
common_name:
  description: O(common_name), for the signer's request.
  returned: always
  type: str
subject_alt_names:
  description: O(subject_alt_names) in canonical form (C(DNS:), C(IP:)), for the signer's request.
  returned: always
  type: list
  elements: str
served_fingerprint:
  description: SHA-256 fingerprint of the certificate the REST API serves after the reload.
  returned: after a reload
  type: str
api_url:
  description: The member's REST API address as the cluster lists it after the reload.
  returned: after a reload
  type: str
role:
  description: The member's role (C(leader), C(replica), ...) as the cluster lists it.
  returned: after a reload
  type: str
replication:
  description: With O(replication_verify), what the proof saw (C(role); on a replica the
    walreceiver's C(status) and C(sslmode)).
  returned: after a reload, with O(replication_verify)
  type: dict
restart_needed:
  description: Whether a changed key applies only when Patroni restarts (O(dcs_tls)).
  returned: always
  type: bool
restarted:
  description: The module restarted Patroni (O(allow_restart)).
  returned: when it did
  type: bool
dcs_last_seen:
  description: After a restart, when the member last reached the DCS (epoch seconds), as its
    REST API says.
  returned: after a restart
  type: int
removed:
  description: The old slot's files, removed after the proof.
  returned: after a reload
  type: list
  elements: str
backup_file:
  description: The copy of O(config_file) made before it was rewritten (O(backup)).
  returned: when a backup was made
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pgssl.postgresql.plugins.module_utils import _patronitls as patronitls
from ansible_collections.pgssl.postgresql.plugins.module_utils import _standbycred as slots
from ansible_collections.pgssl.postgresql.plugins.module_utils._module import execute


def main():
    module = AnsibleModule(
        argument_spec=dict(
            slots.slots_argspec(),
            config_file=dict(type='path', required=True),
            user=dict(type='str', default='postgres'),
            dir=dict(type='path'),
            common_name=dict(type='str', required=True),
            subject_alt_names=dict(type='list', elements='str', default=[]),
            ca_bundle=dict(type='str', required=True),
            certificate=dict(type='str'),
            verify_client=dict(type='str', default='optional', choices=list(patronitls.VERIFY_CLIENT)),
            ctl=dict(type='bool', default=True),
            replication_verify=dict(type='bool', default=False),
            dcs_tls=dict(type='bool', default=False),
            dcs_hosts=dict(type='list', elements='str', default=[]),
            allow_restart=dict(type='bool', default=False),
            restart_command=dict(type='list', elements='str', default=[]),
            tls_host=dict(type='str'),
            tls_hostaddr=dict(type='str'),
            member_view=dict(type='bool', default=False),
            backup=dict(type='bool', default=False),
            timeout=dict(type='int', default=60),
        ),
        supports_check_mode=True,
    )
    execute(module, patronitls.run)


if __name__ == '__main__':
    main()
