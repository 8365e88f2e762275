// Builds a device's channel tree from the flat catalog the API returns (docs/API_DEVICES.md): a channel hangs
// under the catalog item named by its ParentID (or, failing that, its BusinessGroupID) when that item is in the
// same catalog; everything else is a root. Devices send all sorts of catalogs (flat cameras, NVRs, lower
// platforms with business groups and virtual organisations, "a/b/c" ParentID paths, loops), so the builder
// guarantees a forest: a parent that would close a cycle is ignored. Pure data in, data out.

const MAX_DEPTH = 64;
// GB/T 28181 ID type codes (digits 11-13 of a 20-digit ID) that name groups, not video sources: 200 central
// system, 215 business group, 216 virtual organisation.
const GROUP_TYPES = new Set(['200', '215', '216']);

/** The type code of a 20-digit GB ID ("131" for a camera), or '' for other IDs. */
export function idType(id) {
  return /^\d{20}$/.test(id) ? id.slice(10, 13) : '';
}

/** True when the item can carry video: not a group or an administrative area (civil codes are 2-8 digits). */
export function isPlayable(channel) {
  const id = String(channel.id || '');
  if (/^\d{1,8}$/.test(id)) return false;
  return !GROUP_TYPES.has(idType(id));
}

function lastSegment(value) {
  const parts = String(value || '').split('/').filter(Boolean);
  return parts.length ? parts[parts.length - 1] : '';
}

/** -> [{channel, children: [...]}, ...] in catalog order. */
export function buildTree(channels) {
  const nodes = new Map();
  for (const channel of channels) nodes.set(channel.id, { channel, children: [], parent: null });
  const roots = [];
  for (const node of nodes.values()) {
    const parent = findParent(node, nodes);
    if (parent) {
      node.parent = parent;
      parent.children.push(node);
    } else {
      roots.push(node);
    }
  }
  return roots;
}

function findParent(node, nodes) {
  for (const candidate of [lastSegment(node.channel.parent_id), node.channel.business_group_id]) {
    if (!candidate || candidate === node.channel.id) continue;
    const parent = nodes.get(candidate);
    if (parent && !reaches(parent, node)) return parent;
  }
  return null;
}

/** Whether walking up from `from` meets `target` (attaching target under from would close a cycle). */
function reaches(from, target) {
  let depth = 0;
  for (let n = from; n; n = n.parent) {
    if (n === target || ++depth > MAX_DEPTH) return true;
  }
  return false;
}

/**
 * The nodes to show for a search: matching items and their ancestors (so a match is seen in its place).
 * Returns a Set of channel IDs, empty when nothing matches.
 */
export function matchingIds(roots, matches) {
  const keep = new Set();
  const visit = (node) => {
    let any = matches(node.channel);
    for (const child of node.children) any = visit(child) || any;
    if (any) keep.add(node.channel.id);
    return any;
  };
  for (const root of roots) visit(root);
  return keep;
}
