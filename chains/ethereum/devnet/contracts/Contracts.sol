// SPDX-License-Identifier: MIT
// Contracts for flowwatch's dev chain: tests and the demo. Compiled by
// scripts/compile-contracts.sh (solc-js 0.8.28, optimizer on, EVM version paris); the
// .bin files beside this one are its output and are embedded in the devnet package.
pragma solidity 0.8.28;

/// A minimal ERC-20 token: the whole supply goes to the deployer.
contract Token {
    string public name;
    string public symbol;
    uint8 public constant decimals = 6;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(string memory name_, string memory symbol_, uint256 supply) {
        name = name_;
        symbol = symbol_;
        totalSupply = supply;
        balanceOf[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        require(allowance[from][msg.sender] >= value, "allowance");
        allowance[from][msg.sender] -= value;
        _move(from, to, value);
        return true;
    }

    function _move(address from, address to, uint256 value) internal {
        require(balanceOf[from] >= value, "balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}

/// Moves ether on through internal calls.
contract Forwarder {
    /// Sends all of msg.value on to `to`.
    function forward(address payable to) external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "forward failed");
    }

    /// Splits msg.value evenly between `a` and `b` (the odd wei goes to `b`).
    function split(address payable a, address payable b) external payable {
        uint256 half = msg.value / 2;
        (bool ok1, ) = a.call{value: half}("");
        (bool ok2, ) = b.call{value: msg.value - half}("");
        require(ok1 && ok2, "split failed");
    }

    /// Calls forwardThenRevert with the value and swallows its failure: the transaction
    /// succeeds, the inner transfer to `to` is undone, and the value stays here.
    function tryForward(address payable to) external payable {
        try this.forwardThenRevert{value: msg.value}(to) {} catch {}
    }

    /// Forwards the value to `to`, then reverts, undoing the transfer.
    function forwardThenRevert(address payable to) external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "forward failed");
        revert("undone");
    }

    /// Accepts ether.
    receive() external payable {}
}

/// Rejects every payment.
contract Rejecter {
    receive() external payable {
        revert("rejected");
    }
}

/// Stands in for a Tornado Cash ETH pool at its real address (placed there by genesis
/// allocation, with the denomination in storage slot 0): same deposit signature and Deposit
/// event. Withdrawals are not modelled.
contract MixerPool {
    uint256 public denomination; // slot 0
    uint32 public nextIndex; // slot 1

    event Deposit(bytes32 indexed commitment, uint32 leafIndex, uint256 timestamp);

    constructor(uint256 denomination_) {
        denomination = denomination_;
    }

    function deposit(bytes32 commitment) external payable {
        require(msg.value == denomination, "wrong amount");
        emit Deposit(commitment, nextIndex, block.timestamp);
        nextIndex++;
    }
}

/// Stands in for the Tornado Cash router (TornadoProxy): passes a deposit on to a pool, so
/// that the depositor's transaction pays the router, not the pool.
contract MixerRouter {
    function deposit(address pool, bytes32 commitment) external payable {
        MixerPool(pool).deposit{value: msg.value}(commitment);
    }
}

/// Stands in for a Hop L1 bridge: takes ether and logs Hop's TransferSentToL2, which names
/// the destination chain.
contract HopBridge {
    event TransferSentToL2(
        uint256 indexed chainId,
        address indexed recipient,
        uint256 amount,
        uint256 amountOutMin,
        uint256 deadline,
        address indexed relayer,
        uint256 relayerFee
    );

    function sendToL2(uint256 chainId, address recipient, uint256 amountOutMin,
        uint256 deadline, address relayer, uint256 relayerFee) external payable {
        emit TransferSentToL2(chainId, recipient, msg.value, amountOutMin, deadline, relayer,
            relayerFee);
    }
}

/// Stands in for a DEX router: swaps one token for another in one transaction, taking the
/// input from the caller and paying the output from its own balance.
contract SimpleDex {
    /// Takes amountIn of tokenIn from the caller and pays amountOut of tokenOut to `to`
    /// (the rate is the caller's to choose: a stand-in, not a market).
    function swap(Token tokenIn, uint256 amountIn, Token tokenOut, uint256 amountOut,
        address to) external {
        require(tokenIn.transferFrom(msg.sender, address(this), amountIn), "in");
        require(tokenOut.transfer(to, amountOut), "out");
    }
}
