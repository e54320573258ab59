/**
 * The module tree a network is described with, as PyTorch's `nn.Module`s are: each module owns
 * its parameters and child modules under the names PyTorch gives them, in registration order, so
 * the parameter table (PyTorch names, shapes, `state_dict` order) is read off the tree. What a
 * module computes is written once, as `forward` over the primitive {@link Ops};
 * every consumer (tfjs, the ONNX graphs, the FLOP count) supplies those primitives.
 */

/** How a parameter is stored and initialised; decides the PyTorch <-> tfjs layout mapping. */
export type ParamKind = 'conv' | 'dwconv' | 'linear' | 'bias' | 'gain';

/** One parameter of a network, in PyTorch naming and layout. */
export interface ParamSpec {
  /** PyTorch `state_dict` key, e.g. `downs.0.0.block1.proj.weight`. */
  readonly name: string;
  /**
   * Shape in PyTorch's layout (conv `[out, in, kh, kw]`, depthwise conv `[c, 1, kh, kw]`, linear
   * `[out, in]`, bias `[c]`, per-channel gain `[1, c, 1, 1]`).
   */
  readonly torchShape: readonly number[];
  /** Storage kind. */
  readonly kind: ParamKind;
  /** Fan-in of the layer the parameter belongs to (PyTorch's default init bound is `1/sqrt(fanIn)`). */
  readonly fanIn: number;
  /**
   * Initial value where PyTorch does not draw it uniformly in `+-1/sqrt(fanIn)`: a constant
   * (LayerNorm gains start at 1, NAFBlock's `beta`/`gamma` at 0).
   */
  readonly init?: number;
}

/** A node of the module tree: parameters and children, each under a PyTorch name. */
export class Module {
  /** This module's PyTorch path (`''` for the root), set when it is attached to a parent. */
  path = '';
  readonly #params: { local: string; spec: Omit<ParamSpec, 'name'>; owner: Param }[] = [];
  readonly #children: { local: string; module: Module }[] = [];

  /** Registers a child module under `name` (PyTorch: an attribute or a `Sequential` index). */
  protected child<M extends Module>(name: string | number, module: M): M {
    this.#children.push({ local: String(name), module });
    return module;
  }

  /** Registers a parameter of this module itself (PyTorch: an `nn.Parameter` attribute). */
  protected param(name: string, spec: Omit<ParamSpec, 'name'>): Param {
    const owner = new Param(this, name);
    this.#params.push({ local: name, spec, owner });
    return owner;
  }

  /** Sets the paths of this subtree (called once on the root). */
  protected attach(path: string): void {
    this.path = path;
    for (const c of this.#children) c.module.attach(path === '' ? c.local : `${path}.${c.local}`);
  }

  /**
   * Every parameter of the subtree in PyTorch's `state_dict` order: a module's own parameters
   * first, then its children's in registration order.
   */
  paramSpecs(): ParamSpec[] {
    const out: ParamSpec[] = this.#params.map((p) => ({ name: p.owner.name, ...p.spec }));
    for (const c of this.#children) out.push(...c.module.paramSpecs());
    return out;
  }
}

/** A handle on one parameter (its PyTorch name is known once the tree is attached). */
export class Param {
  /** @param owner - the module holding it; @param local - its attribute name. */
  constructor(
    private readonly owner: Module,
    private readonly local: string,
  ) {}

  /** The PyTorch `state_dict` key. */
  get name(): string {
    return this.owner.path === '' ? this.local : `${this.owner.path}.${this.local}`;
  }
}

/** The root of a network's module tree: attaches the paths when built. */
export class RootModule extends Module {
  /** Call at the end of the subclass constructor, after every child is registered. */
  protected finish(): void {
    this.attach('');
  }
}

/**
 * Checks that output-channel block `part` of `parts` of a convolution exists (see `Ops.convPart`).
 * @throws RangeError naming the layer.
 */
export function checkPart(l: Conv2d, part: number, parts: number, where: string): void {
  if (!Number.isInteger(parts) || parts < 1 || l.cout % parts !== 0 || !Number.isInteger(part) || part < 0 || part >= parts) {
    throw new RangeError(`${where}: part ${part} of ${parts} does not divide ${l.weight.name}'s ${l.cout} output channels`);
  }
}

/** `nn.Conv2d(cin, cout, k, stride, padding, groups=1 or cin, bias)`. */
export class Conv2d extends Module {
  /** The kernel `[cout, cin / groups, k, k]`. */
  readonly weight: Param;
  /** The bias `[cout]`, or `null` for `bias=False`. */
  readonly bias: Param | null;

  /**
   * @param cin - input channels; @param cout - output channels; @param k - square kernel size.
   * @param opts - `stride` (1), `pad` (zero padding, default `k // 2`), `bias` (true),
   *   `depthwise` (`groups = cin = cout`, default false).
   */
  constructor(
    readonly cin: number,
    readonly cout: number,
    readonly k: number,
    opts: { stride?: number; pad?: number; bias?: boolean; depthwise?: boolean } = {},
  ) {
    super();
    this.stride = opts.stride ?? 1;
    this.pad = opts.pad ?? Math.floor(k / 2);
    this.depthwise = opts.depthwise ?? false;
    if (this.depthwise && cin !== cout) throw new RangeError(`Conv2d: a depthwise convolution needs cin = cout, got ${cin} and ${cout}`);
    const fanIn = (this.depthwise ? 1 : cin) * k * k;
    this.weight = this.param('weight', { torchShape: [cout, this.depthwise ? 1 : cin, k, k], kind: this.depthwise ? 'dwconv' : 'conv', fanIn });
    this.bias = (opts.bias ?? true) ? this.param('bias', { torchShape: [cout], kind: 'bias', fanIn }) : null;
  }

  /** Stride (both axes). */
  readonly stride: number;
  /** Zero padding on every side. */
  readonly pad: number;
  /** Whether `groups = cin` (one 2-D filter per channel). */
  readonly depthwise: boolean;
}

/** `nn.Linear(cin, cout)` on `[B, cin]`. */
export class Linear extends Module {
  /** `[cout, cin]`. */
  readonly weight: Param;
  /** `[cout]`. */
  readonly bias: Param;

  /** @param cin - input features; @param cout - output features. */
  constructor(
    readonly cin: number,
    readonly cout: number,
  ) {
    super();
    this.weight = this.param('weight', { torchShape: [cout, cin], kind: 'linear', fanIn: cin });
    this.bias = this.param('bias', { torchShape: [cout], kind: 'bias', fanIn: cin });
  }
}

/**
 * The original's channel `LayerNorm` (no bias): normalise over channels with the biased variance
 * and eps 1e-5, times the gain `g [1, c, 1, 1]`.
 */
export class LayerNorm extends Module {
  /** The gain `g`, `[1, c, 1, 1]`, initialised to 1. */
  readonly g: Param;

  /** @param c - channels. */
  constructor(readonly c: number) {
    super();
    this.g = this.param('g', { torchShape: [1, c, 1, 1], kind: 'gain', fanIn: c, init: 1 });
  }
}

/** A module without parameters, used to skip an index of a PyTorch `Sequential` (e.g. an activation). */
export class NoParams extends Module {}
