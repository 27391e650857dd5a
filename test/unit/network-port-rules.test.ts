/** port-rules.ts: the iptables-restore batches that publish a container's ports (pure). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  deleteBatchFromListing,
  portChainsSetupBatch,
  portRulesBatch,
  ruleComment,
} from '../../src/network/port-rules.js';
import type { PortMapping } from '../../src/network/publish.js';

const tcp = (hostPort: number, containerPort: number, hostIP = ''): PortMapping => ({
  hostIP,
  hostPort,
  containerPort,
  protocol: 'tcp',
});

test('DNAT per host port, MASQUERADE for hairpin and 127.0.0.0/8 once per container port', () => {
  const batch = portRulesBatch(
    {
      containerId: 'c1',
      containerIP: '10.89.0.5',
      ports: [tcp(8080, 80), tcp(8081, 80, '127.0.0.1'), { ...tcp(5353, 53), protocol: 'udp' }],
    },
    'add',
  );
  assert.equal(
    batch,
    [
      '*nat',
      '-A WHARF-HOSTPORTS -p tcp -m tcp --dport 8080 -m comment --comment wharf:c1 -j DNAT --to-destination 10.89.0.5:80',
      '-A WHARF-HOSTPORTS-MASQ -s 10.89.0.5/32 -d 10.89.0.5/32 -p tcp -m tcp --dport 80 -m comment --comment wharf:c1 -j MASQUERADE',
      '-A WHARF-HOSTPORTS-MASQ -s 127.0.0.0/8 -d 10.89.0.5/32 -p tcp -m tcp --dport 80 -m comment --comment wharf:c1 -j MASQUERADE',
      '-A WHARF-HOSTPORTS -d 127.0.0.1/32 -p tcp -m tcp --dport 8081 -m comment --comment wharf:c1 -j DNAT --to-destination 10.89.0.5:80',
      '-A WHARF-HOSTPORTS -p udp -m udp --dport 5353 -m comment --comment wharf:c1 -j DNAT --to-destination 10.89.0.5:53',
      '-A WHARF-HOSTPORTS-MASQ -s 10.89.0.5/32 -d 10.89.0.5/32 -p udp -m udp --dport 53 -m comment --comment wharf:c1 -j MASQUERADE',
      '-A WHARF-HOSTPORTS-MASQ -s 127.0.0.0/8 -d 10.89.0.5/32 -p udp -m udp --dport 53 -m comment --comment wharf:c1 -j MASQUERADE',
      'COMMIT',
      '',
    ].join('\n'),
  );
  const del = portRulesBatch({ containerId: 'c1', containerIP: '10.89.0.5', ports: [tcp(8080, 80)] }, 'delete');
  assert.match(
    del,
    /^\*nat\n-D WHARF-HOSTPORTS -p tcp .*\n-D WHARF-HOSTPORTS-MASQ .*\n-D WHARF-HOSTPORTS-MASQ .*\nCOMMIT\n$/,
  );
});

test('IPv6 host addresses (the relay publishes those) and nothing at all give no batch', () => {
  assert.equal(portRulesBatch({ containerId: 'c', containerIP: '10.0.0.2', ports: [tcp(80, 80, '::1')] }, 'add'), '');
  assert.equal(portRulesBatch({ containerId: 'c', containerIP: '10.0.0.2', ports: [] }, 'delete'), '');
});

test('the setup batch declares the chains and the jumps; the listing fallback deletes only that container', () => {
  assert.match(portChainsSetupBatch(), /:WHARF-HOSTPORTS - \[0:0\]\n:WHARF-HOSTPORTS-MASQ - \[0:0\]/);
  const listing = [
    '-N WHARF-HOSTPORTS',
    '-A WHARF-HOSTPORTS -p tcp -m tcp --dport 8080 -m comment --comment "wharf:c1" -j DNAT --to-destination 10.0.0.2:80',
    '-A WHARF-HOSTPORTS -p tcp -m tcp --dport 8081 -m comment --comment wharf:c12 -j DNAT --to-destination 10.0.0.3:80',
    `-A WHARF-HOSTPORTS-MASQ -s 127.0.0.0/8 -d 10.0.0.2/32 -p tcp -m tcp --dport 80 -m comment --comment ${ruleComment('c1')} -j MASQUERADE`,
  ].join('\n');
  assert.equal(
    deleteBatchFromListing(listing, 'c1'),
    [
      '*nat',
      '-D WHARF-HOSTPORTS -p tcp -m tcp --dport 8080 -m comment --comment "wharf:c1" -j DNAT --to-destination 10.0.0.2:80',
      '-D WHARF-HOSTPORTS-MASQ -s 127.0.0.0/8 -d 10.0.0.2/32 -p tcp -m tcp --dport 80 -m comment --comment wharf:c1 -j MASQUERADE',
      'COMMIT',
      '',
    ].join('\n'),
  );
  assert.equal(deleteBatchFromListing(listing, 'c9'), '');
});
