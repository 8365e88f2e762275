/*
 * MANSCDP decoding, generic part: raw body bytes -> libxml2 document -> one compact, immutable element tree.
 *
 * Why copy the tree out of libxml2: callers get plain `const char *` that live as long as the message and
 * never need xmlFree(), the limits (depth, node count) are enforced in one walk, and nothing outside this
 * file ever sees a libxml2 type. The copy is one malloc sized by a counting pass: nodes, attributes and
 * strings in a single block.
 *
 * The bytes are first made ready in manscdp_input.c (framing trimmed, DTDs refused, charset chosen from the
 * bytes rather than the declaration, bare '&' escaped). Here libxml2 parses them with that encoding forced
 * (XML_PARSE_IGNORE_ENC too, so the declaration can never switch the decoder half-way), XML_PARSE_NONET, and
 * without NOENT/DTDLOAD/DTDATTR; a document that still ends up with a DTD or an entity reference node is
 * refused. libxml2's own error output (it prints encoding errors even with XML_PARSE_NOERROR) is silenced
 * with a per-thread structured error handler for the duration of the parse.
 */
#include "signaling/manscdp.h"
#include "signaling/manscdp_priv.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

struct manscdp_attr {
    const char *name, *value;
};

struct manscdp_node {
    const char *name;
    const char *text; /* direct text and CDATA children, trimmed; "" when none */
    const struct manscdp_node *first_child, *next_sibling;
    const struct manscdp_attr *attrs;
    uint32_t attr_count;
};

struct manscdp_msg {
    enum manscdp_root root;
    enum manscdp_charset charset;
    const char *cmdtype, *device_id;
    bool has_sn;
    uint32_t sn;
    struct manscdp_node *nodes; /* nodes[0] is the root element */
    size_t node_count;
    /* followed in the same block by the nodes, the attributes and the strings */
};

static const char *const root_names[] = {"Query", "Control", "Notify", "Response"};

/* ---------------------------------------------------------------- small byte helpers */

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static bool name_eq(const char *a, const char *b, size_t blen)
{
    for (size_t i = 0; i < blen; i++)
        if (a[i] == '\0' || ascii_lower((uint8_t)a[i]) != ascii_lower((uint8_t)b[i])) return false;
    return a[blen] == '\0';
}

/* ---------------------------------------------------------------- libxml2 tree -> compact tree */

struct tree_size {
    size_t nodes, attrs, bytes;
    int err;
};

static size_t text_children_len(const xmlNode *el)
{
    size_t n = 0;
    for (const xmlNode *c = el->children; c; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
            n += strlen((const char *)c->content);
    return n;
}

static void measure(const xmlNode *el, unsigned depth, struct tree_size *sz)
{
    if (depth > MANSCDP_MAX_DEPTH || ++sz->nodes > MANSCDP_MAX_NODES) {
        sz->err = EBADMSG;
        return;
    }
    sz->bytes += strlen((const char *)el->name) + 1 + text_children_len(el) + 1;
    for (const xmlAttr *a = el->properties; a; a = a->next) {
        sz->attrs++;
        sz->bytes += strlen((const char *)a->name) + 1 + 1;
        for (const xmlNode *t = a->children; t; t = t->next)
            if (t->content) sz->bytes += strlen((const char *)t->content);
    }
    if (sz->attrs > MANSCDP_MAX_NODES) sz->err = EBADMSG;
    for (const xmlNode *c = el->children; c && !sz->err; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            measure(c, depth + 1, sz);
        else if (c->type == XML_ENTITY_REF_NODE || c->type == XML_ENTITY_NODE)
            sz->err = EBADMSG;
    }
}

struct tree_fill {
    struct manscdp_node *nodes;
    size_t next_node;
    struct manscdp_attr *attrs;
    size_t next_attr;
    char *str;
};

static const char *put_str(struct tree_fill *f, const char *s)
{
    size_t n = strlen(s);
    char *dst = f->str;
    memcpy(dst, s, n + 1);
    f->str += n + 1;
    return dst;
}

static const char *put_text(struct tree_fill *f, const xmlNode *el)
{
    char *dst = f->str, *p = dst;
    for (const xmlNode *c = el->children; c; c = c->next) {
        if ((c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) || !c->content) continue;
        size_t n = strlen((const char *)c->content);
        memcpy(p, c->content, n);
        p += n;
    }
    char *b = dst;
    while (b < p && is_space((uint8_t)*b)) b++;
    while (p > b && is_space((uint8_t)p[-1])) p--;
    size_t n = (size_t)(p - b);
    memmove(dst, b, n);
    dst[n] = '\0';
    f->str = dst + n + 1;
    return dst;
}

static struct manscdp_node *fill(struct tree_fill *f, const xmlNode *el)
{
    struct manscdp_node *node = &f->nodes[f->next_node++];
    node->name = put_str(f, (const char *)el->name);
    node->text = put_text(f, el);
    node->attrs = &f->attrs[f->next_attr];
    for (const xmlAttr *a = el->properties; a; a = a->next) {
        struct manscdp_attr *attr = &f->attrs[f->next_attr++];
        attr->name = put_str(f, (const char *)a->name);
        char *v = f->str, *p = v;
        for (const xmlNode *t = a->children; t; t = t->next) {
            if (!t->content) continue;
            size_t n = strlen((const char *)t->content);
            memcpy(p, t->content, n);
            p += n;
        }
        *p = '\0';
        f->str = p + 1;
        attr->value = v;
        node->attr_count++;
    }
    struct manscdp_node *prev = NULL;
    for (const xmlNode *c = el->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        struct manscdp_node *child = fill(f, c);
        if (prev)
            prev->next_sibling = child;
        else
            node->first_child = child;
        prev = child;
    }
    return node;
}

static int copy_tree(const xmlNode *root, struct manscdp_msg **out)
{
    struct tree_size sz = {0};
    measure(root, 1, &sz);
    if (sz.err) return sz.err;
    size_t head = sizeof(struct manscdp_msg);
    size_t nodes_bytes = sz.nodes * sizeof(struct manscdp_node);
    size_t attrs_bytes = sz.attrs * sizeof(struct manscdp_attr);
    struct manscdp_msg *msg = calloc(1, head + nodes_bytes + attrs_bytes + sz.bytes);
    if (!msg) return ENOMEM;
    struct tree_fill f = {
        .nodes = (struct manscdp_node *)(msg + 1),
        .attrs = (struct manscdp_attr *)((char *)(msg + 1) + nodes_bytes),
        .str = (char *)(msg + 1) + nodes_bytes + attrs_bytes,
    };
    fill(&f, root);
    msg->nodes = f.nodes;
    msg->node_count = f.next_node;
    *out = msg;
    return 0;
}

/* ---------------------------------------------------------------- parse */

static pthread_once_t xml_init_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    xmlInitParser();
}

static void swallow_xml_error(void *ctx, xmlErrorPtr err)
{
    int *first = ctx;
    if (*first == 0 && err) *first = err->code ? err->code : -1;
}

static int check_mandatory(struct manscdp_msg *msg)
{
    const struct manscdp_node *root = msg->nodes;
    size_t i;
    for (i = 0; i < 4; i++)
        if (name_eq(root->name, root_names[i], strlen(root_names[i]))) break;
    if (i == 4) return EPROTO;
    msg->root = (enum manscdp_root)i;
    const char *cmd = manscdp_node_get(root, "CmdType");
    if (cmd == NULL || cmd[0] == '\0') return EPROTO;
    msg->cmdtype = cmd;
    const char *id = manscdp_node_get(root, "DeviceID");
    msg->device_id = id ? id : "";
    long long sn;
    if (manscdp_node_get_int(root, "SN", &sn) && sn >= 0 && sn <= UINT32_MAX) {
        msg->has_sn = true;
        msg->sn = (uint32_t)sn;
    }
    return 0;
}

int manscdp_parse(const uint8_t *body, size_t len, struct manscdp_msg **out)
{
    *out = NULL;
    struct manscdp_input in;
    int err = manscdp_input_prepare(body, len, &in);
    if (err) return err;
    if (in.len > INT32_MAX) {
        manscdp_input_release(&in);
        return EBADMSG;
    }

    pthread_once(&xml_init_once, xml_init);
    xmlStructuredErrorFunc saved_handler = xmlStructuredError;
    void *saved_ctx = xmlStructuredErrorContext;
    int xml_err = 0;
    xmlSetStructuredErrorFunc(&xml_err, swallow_xml_error);

    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    xmlDocPtr doc = NULL;
    if (!ctxt) {
        err = ENOMEM;
        goto out;
    }
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_IGNORE_ENC |
               XML_PARSE_NOCDATA | XML_PARSE_COMPACT;
    doc = xmlCtxtReadMemory(ctxt, (const char *)in.xml, (int)in.len, NULL, in.encoding, opts);
    if (!doc || !ctxt->wellFormed || doc->intSubset || doc->extSubset) {
        err = EBADMSG;
        goto out;
    }
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (!root) {
        err = EBADMSG;
        goto out;
    }
    struct manscdp_msg *msg = NULL;
    err = copy_tree(root, &msg);
    if (err) goto out;
    msg->charset = in.charset;
    err = check_mandatory(msg);
    if (err) {
        free(msg);
        goto out;
    }
    *out = msg;
out:
    if (doc) xmlFreeDoc(doc);
    if (ctxt) xmlFreeParserCtxt(ctxt);
    xmlSetStructuredErrorFunc(saved_ctx, saved_handler);
    manscdp_input_release(&in);
    return err;
}

void manscdp_free(struct manscdp_msg *msg)
{
    free(msg);
}

/* ---------------------------------------------------------------- accessors */

enum manscdp_root manscdp_root(const struct manscdp_msg *msg)
{
    return msg->root;
}

const char *manscdp_root_name(enum manscdp_root root)
{
    return (unsigned)root < 4 ? root_names[root] : "?";
}

const char *manscdp_cmdtype(const struct manscdp_msg *msg)
{
    return msg->cmdtype;
}

const char *manscdp_device_id(const struct manscdp_msg *msg)
{
    return msg->device_id;
}

bool manscdp_sn(const struct manscdp_msg *msg, uint32_t *sn)
{
    *sn = msg->sn;
    return msg->has_sn;
}

enum manscdp_charset manscdp_charset(const struct manscdp_msg *msg)
{
    return msg->charset;
}

bool manscdp_is(const struct manscdp_msg *msg, enum manscdp_root root, const char *cmdtype)
{
    return msg->root == root && name_eq(msg->cmdtype, cmdtype, strlen(cmdtype));
}

const struct manscdp_node *manscdp_root_node(const struct manscdp_msg *msg)
{
    return msg->nodes;
}

/* Depth-first search for the path below node, backtracking over same-named siblings, so that
 * "DeviceList/Item" finds an Item even if the first DeviceList is empty. */
static const struct manscdp_node *find_path(const struct manscdp_node *node, const char *path)
{
    while (*path == '/') path++;
    if (*path == '\0') return node;
    const char *slash = strchr(path, '/');
    size_t step = slash ? (size_t)(slash - path) : strlen(path);
    for (const struct manscdp_node *c = node->first_child; c; c = c->next_sibling) {
        if (!name_eq(c->name, path, step)) continue;
        const struct manscdp_node *hit = slash ? find_path(c, slash + 1) : c;
        if (hit) return hit;
    }
    return NULL;
}

const struct manscdp_node *manscdp_node_find(const struct manscdp_node *node, const char *path)
{
    if (!node) return NULL;
    return path ? find_path(node, path) : node;
}

const struct manscdp_node *manscdp_first(const struct manscdp_msg *msg, const char *path)
{
    return manscdp_node_find(msg->nodes, path);
}

const struct manscdp_node *manscdp_next(const struct manscdp_node *node)
{
    if (!node) return NULL;
    for (const struct manscdp_node *s = node->next_sibling; s; s = s->next_sibling)
        if (name_eq(s->name, node->name, strlen(node->name))) return s;
    return NULL;
}

const struct manscdp_node *manscdp_node_child(const struct manscdp_node *node)
{
    return node ? node->first_child : NULL;
}

const struct manscdp_node *manscdp_node_sibling(const struct manscdp_node *node)
{
    return node ? node->next_sibling : NULL;
}

size_t manscdp_count(const struct manscdp_msg *msg, const char *path)
{
    size_t n = 0;
    for (const struct manscdp_node *it = manscdp_first(msg, path); it && it != msg->nodes;
         it = manscdp_next(it))
        n++;
    return n;
}

const char *manscdp_get(const struct manscdp_msg *msg, const char *path)
{
    const struct manscdp_node *n = manscdp_first(msg, path);
    return n ? n->text : NULL;
}

const char *manscdp_node_get(const struct manscdp_node *node, const char *path)
{
    const struct manscdp_node *n = manscdp_node_find(node, path);
    return n ? n->text : NULL;
}

const char *manscdp_node_name(const struct manscdp_node *node)
{
    return node->name;
}

const char *manscdp_node_attr(const struct manscdp_node *node, const char *attr_name)
{
    for (uint32_t i = 0; i < node->attr_count; i++)
        if (name_eq(node->attrs[i].name, attr_name, strlen(attr_name))) return node->attrs[i].value;
    return NULL;
}

bool manscdp_node_get_int(const struct manscdp_node *node, const char *path, long long *out)
{
    const char *s = manscdp_node_get(node, path);
    if (!s || !*s) return false;
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+') neg = (*p++ == '-');
    if (*p == '\0') return false;
    unsigned long long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        if (v > (unsigned long long)INT64_MAX / 10) return false;
        v = v * 10 + (unsigned)(*p - '0');
        if (v > (unsigned long long)INT64_MAX) return false;
    }
    *out = neg ? -(long long)v : (long long)v;
    return true;
}

bool manscdp_node_get_double(const struct manscdp_node *node, const char *path, double *out)
{
    const char *s = manscdp_node_get(node, path);
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0' || errno == ERANGE || v != v || v - v != 0) return false; /* no NaN, no inf */
    *out = v;
    return true;
}
