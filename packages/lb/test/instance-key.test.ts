import { background, type Context } from '@kitts/endpoint';
import { Endpointer, FixedInstancer, instanceKey } from '@kitts/sd';
import { expect } from 'chai';
import { balanced, broadcast, hedge, retry, roundRobin } from '../src/index.js';

describe('instanceKey on the attempt context', () => {
  it('names the instance each attempt goes to, for balanced, retry, hedge and broadcast', async () => {
    const seen: string[] = [];
    const e = new Endpointer(
      new FixedInstancer(['10.0.0.1:80', '10.0.0.2:80']),
      () => async (ctx: Context) => {
        const at = ctx.value(instanceKey)?.address ?? 'none';
        seen.push(at);
        return at;
      },
    );
    const rr = roundRobin(e, { start: 0 });
    expect(await balanced(rr)(background(), 1)).to.equal('10.0.0.1:80');
    expect(await retry(rr, { max: 2, timeout: 1000 })(background(), 1)).to.equal('10.0.0.2:80');
    expect(await hedge(rr, { delay: 1000 })(background(), 1)).to.match(/^10\.0\.0\.[12]:80$/);
    expect(await broadcast(e, { mode: 'all' })(background(), 1)).to.deep.equal([
      '10.0.0.1:80',
      '10.0.0.2:80',
    ]);
    expect(seen).not.to.include('none');
    await e.close();
  });
});
