/**
 * Container networking: a named netns per container joined to Wharf's bridges natively (netlink, one
 * iptables-restore for published ports), user-defined networks with their IPAM, firewall and resolver, `-p`/`-P`
 * parsing and host-port checks, /etc/hosts and /etc/resolv.conf contents.
 */
export * from './publish.js';
export * from './etc-files.js';
export * from './ports.js';
export * from './netns.js';
export * from './cni.js';
export * from './setup.js';
export * from './port-lock.js';
export * from './port-proxy.js';
export * from './ipam.js';
export * from './network-records.js';
export * from './firewall.js';
export * from './bridge-device.js';
export * from './endpoint.js';
export * from './dns.js';
export * from './service.js';
export * from './network-shapes.js';
export * from './leftovers.js';
