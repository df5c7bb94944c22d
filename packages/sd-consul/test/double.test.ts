// What the double promises about Consul's documented HTTP API. With CONSUL_HTTP_ADDR set
// the same assertions run against a real agent: that is how the double is kept honest.
import { expect } from 'chai';
import { type ConsulTarget, consulTarget, REAL, rawRequest, uniqueName } from './target.js';

describe('Consul double: documented behaviour', function () {
  this.timeout(REAL ? 30_000 : 10_000);
  let t: ConsulTarget;
  const made: string[] = [];

  before(async () => {
    t = await consulTarget();
  });
  after(async () => {
    for (const id of made) await put(`/v1/agent/service/deregister/${id}`, '');
    await t.close();
  });

  const put = (path: string, body: unknown) =>
    rawRequest(t.host, t.port, 'PUT', path, typeof body === 'string' ? body : JSON.stringify(body), t.token);
  const get = async (path: string) => {
    const r = await rawRequest(t.host, t.port, 'GET', path, undefined, t.token);
    return {
      ...r,
      json: r.status === 200 ? JSON.parse(r.text) : undefined,
      index: Number(r.headers['x-consul-index']),
    };
  };
  async function register(body: Record<string, unknown>) {
    const r = await put('/v1/agent/service/register', body);
    expect(r.status, r.text).to.equal(200);
    made.push(String(body.ID));
  }

  it('a new check starts critical unless Status is given; its default CheckID is service:<id>', async () => {
    const name = uniqueName('d');
    await register({ ID: `${name}-a`, Name: name, Port: 1, Check: { TTL: '30s' } });
    await register({ ID: `${name}-b`, Name: name, Port: 2, Check: { TTL: '30s', Status: 'passing' } });
    const h = await get(`/v1/health/service/${name}`);
    const own = (e: any) => e.Checks.find((c: any) => c.ServiceID);
    const statuses = Object.fromEntries(
      h.json.map((e: any) => [e.Service.ID, `${own(e).CheckID}=${own(e).Status}`]),
    );
    expect(statuses).to.deep.equal({
      [`${name}-a`]: `service:${name}-a=critical`,
      [`${name}-b`]: `service:${name}-b=passing`,
    });
    expect(h.index).to.be.greaterThan(0);
    const passing = await get(`/v1/health/service/${name}?passing`);
    expect(passing.json.map((e: any) => e.Service.ID)).to.deep.equal([`${name}-b`]);
  });

  it('?passing drops entries with a warning check; repeated ?tag must all match', async () => {
    const name = uniqueName('d');
    await register({ ID: `${name}-w`, Name: name, Port: 1, Tags: ['x', 'y'], Check: { TTL: '30s' } });
    await register({ ID: `${name}-p`, Name: name, Port: 2, Tags: ['x'], Check: { TTL: '30s' } });
    expect((await put(`/v1/agent/check/warn/service:${name}-w`, '')).status).to.equal(200);
    expect((await put(`/v1/agent/check/pass/service:${name}-p`, '')).status).to.equal(200);
    const ids = async (q: string) =>
      (await get(`/v1/health/service/${name}${q}`)).json.map((e: any) => e.Service.ID);
    expect(await ids('?passing')).to.deep.equal([`${name}-p`]);
    expect(await ids('?tag=x&tag=y')).to.deep.equal([`${name}-w`]);
    expect((await ids('?tag=x')).sort()).to.deep.equal([`${name}-p`, `${name}-w`]);
  });

  it('a blocking query hangs until the service changes, then returns a higher index', async () => {
    const name = uniqueName('d');
    await register({ ID: `${name}-1`, Name: name, Port: 1, Check: { TTL: '30s' } });
    const { index } = await get(`/v1/health/service/${name}`);
    const blocked = get(`/v1/health/service/${name}?index=${index}&wait=5s`);
    let returned = false;
    void blocked.then(() => (returned = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(returned, 'returned before any change').to.equal(false);
    await put(`/v1/agent/check/pass/service:${name}-1`, '');
    const after = await blocked;
    expect(after.index).to.be.greaterThan(index);
    expect(after.json[0].Checks.find((c: any) => c.ServiceID).Status).to.equal('passing');
  });

  it('a blocking query with nothing to report returns after wait with the same index', async () => {
    const name = uniqueName('d');
    await register({ ID: `${name}-1`, Name: name, Port: 1 });
    const { index } = await get(`/v1/health/service/${name}`);
    const again = await get(`/v1/health/service/${name}?index=${index}&wait=100ms`);
    expect(again.status).to.equal(200);
    expect(again.index).to.equal(index);
  });

  it('a TTL check not updated in time turns critical with output "TTL expired"', async () => {
    const name = uniqueName('d');
    await register({ ID: `${name}-1`, Name: name, Port: 1, Check: { TTL: '200ms', Status: 'passing' } });
    await new Promise((r) => setTimeout(r, 400));
    const c = (await get(`/v1/health/service/${name}`)).json[0].Checks.find((x: any) => x.ServiceID);
    expect(c.Status).to.equal('critical');
    expect(c.Output).to.contain('TTL expired');
  });

  it('answers errors the way the agent does', async () => {
    expect((await get(`/v1/health/service/x?wait=soon`)).status).to.equal(400);
    expect((await get(`/v1/health/service/x?index=abc`)).status).to.equal(400);
    expect((await put('/v1/agent/service/register', { Port: 1 })).status).to.equal(400);
    const unknown = await put(`/v1/agent/check/pass/service:${uniqueName('none')}`, '');
    expect(unknown.status).to.equal(404);
    expect(unknown.text).to.match(/Unknown check ID/);
    const gone = await put(`/v1/agent/service/deregister/${uniqueName('none')}`, '');
    expect(gone.status).to.equal(404);
    expect(gone.text).to.match(/Unknown service ID/);
    // Passing a check that is not a TTL check is refused.
    const name = uniqueName('d');
    await register({ ID: `${name}-1`, Name: name, Port: 1, Check: { TCP: '127.0.0.1:1', Interval: '10s' } });
    const notTtl = await put(`/v1/agent/check/pass/service:${name}-1`, '');
    expect(notTtl.status).to.equal(500);
    expect(notTtl.text).to.match(/does not have associated TTL/);
  });
});
